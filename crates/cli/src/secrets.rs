//! Process hardening for secrets: shares and rebuilt PINs live in this
//! process's memory for moments, and a core dump would write them to disk.

use std::io;

/// Sets RLIMIT_CORE to zero and marks the process non-dumpable, so neither
/// a crash nor a debugger attach (without root) can copy activation data out.
pub fn disable_core_dumps() -> io::Result<()> {
    let none = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: setrlimit reads the struct we pass and has no other effect on
    // memory; the return value is checked.
    if unsafe { libc::setrlimit(libc::RLIMIT_CORE, &none) } != 0 {
        return Err(io::Error::last_os_error());
    }
    // SAFETY: PR_SET_DUMPABLE with 0 takes no pointers; the return value is checked.
    if unsafe { libc::prctl(libc::PR_SET_DUMPABLE, 0, 0, 0, 0) } != 0 {
        return Err(io::Error::last_os_error());
    }
    Ok(())
}
