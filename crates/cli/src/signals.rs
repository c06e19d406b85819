//! SIGINT, SIGTERM and SIGHUP during a ceremony: the first one asks the
//! engine to stop at its next safe point ([`Stop`]), where it records the
//! interruption and the run ends with a message saying how to resume or
//! abort. Killing the process outright instead could cut a PKCS#11 call
//! short and leave the token in a state the log does not describe.
//!
//! A second signal ends the process at once, for a room that cannot wait
//! for a key generation to finish; the log is then intact and unsealed
//! (each entry is fsynced), and the next run resumes or aborts it like any
//! crash. Installed only by the commands that run ceremonies: elsewhere
//! (verify-log of a long log, report) the default, ending at once, is right.

use std::io;
use std::os::fd::IntoRawFd;
use std::sync::Arc;
use std::sync::atomic::AtomicBool;

use keyceremony_engine::Stop;
use signal_hook::consts::{SIGHUP, SIGINT, SIGTERM};
use signal_hook::flag;

pub fn install() -> io::Result<Stop> {
    let stop = Stop::default();
    let armed = Arc::new(AtomicBool::new(false));
    detach_on_hangup()?;
    for signal in [SIGINT, SIGTERM, SIGHUP] {
        // Actions run in the order registered: the exit does nothing until
        // a first signal has armed it, so it is the second one that exits,
        // with the shell's status for death by that signal.
        flag::register_conditional_shutdown(signal, 128 + signal, Arc::clone(&armed))?;
        flag::register_usize(signal, stop.cell(), signal as usize)?;
        flag::register(signal, Arc::clone(&armed))?;
    }
    Ok(stop)
}

/// SIGHUP: the terminal is gone, and every read or write on it now fails.
/// Standard output and error go to /dev/null instead, so that the way to
/// the next safe point neither panics (`println!` does on a failed write)
/// nor tries to give the terminal back. Standard input becomes the empty
/// end of a non-blocking pipe: crossterm's event reader loops for ever on
/// a hung-up terminal (neither its end-of-file nor EIO ends the loop), but
/// returns on "would block", so the TUI gets back to checking the stop.
fn detach_on_hangup() -> io::Result<()> {
    // Both stay open for the life of the process (into_raw_fd), as the
    // pipe's write end does, so that reads from it would block.
    let null = std::fs::OpenOptions::new()
        .read(true)
        .write(true)
        .open("/dev/null")?
        .into_raw_fd();
    let mut fds = [0; 2];
    // SAFETY: pipe2 fills `fds` with two new descriptors or fails.
    if unsafe { libc::pipe2(fds.as_mut_ptr(), libc::O_NONBLOCK | libc::O_CLOEXEC) } != 0 {
        return Err(io::Error::last_os_error());
    }
    let empty = fds[0];
    // SAFETY: the action only calls dup2, which is async-signal-safe, on
    // descriptors that are never closed.
    unsafe {
        signal_hook::low_level::register(SIGHUP, move || {
            libc::dup2(empty, 0);
            libc::dup2(null, 1);
            libc::dup2(null, 2);
        })?;
    }
    Ok(())
}
