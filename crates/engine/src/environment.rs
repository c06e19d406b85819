//! The environment attestation recorded at the start of every ceremony: what
//! ran, on what, when, and whether the machine was connected (CPS 6.7: CA
//! systems are not connected to a network).

use std::fs;
use std::path::Path;
use std::thread::JoinHandle;

use chrono::{SecondsFormat, Utc};
use serde_json::{Value, json};

/// Git commit the tool was built from, when built from a checkout.
const GIT_COMMIT: Option<&str> = option_env!("KEYCEREMONY_GIT_COMMIT");

fn file_sha256(path: &Path) -> String {
    match crate::outputs::file_sha256(path) {
        Ok(hash) => hex::encode_upper(hash),
        Err(e) => format!("unreadable: {e}"),
    }
}

fn first_line(path: &str) -> String {
    fs::read_to_string(path)
        .map(|s| s.lines().next().unwrap_or_default().trim().to_string())
        .unwrap_or_else(|e| format!("unreadable: {e}"))
}

fn os_name() -> String {
    fs::read_to_string("/etc/os-release")
        .ok()
        .and_then(|text| {
            text.lines()
                .find_map(|l| l.strip_prefix("PRETTY_NAME="))
                .map(|v| v.trim_matches('"').to_string())
        })
        .unwrap_or_else(|| std::env::consts::OS.to_string())
}

/// Network interfaces that are administratively up, loopback aside
/// (IFF_UP in /sys/class/net/<name>/flags; IFF_LOOPBACK excluded).
pub fn interfaces_up() -> Vec<String> {
    const IFF_UP: u32 = 0x1;
    const IFF_LOOPBACK: u32 = 0x8;
    let Ok(entries) = fs::read_dir("/sys/class/net") else {
        return Vec::new();
    };
    let mut up: Vec<String> = entries
        .filter_map(Result::ok)
        .filter_map(|entry| {
            let name = entry.file_name().to_string_lossy().into_owned();
            let flags = fs::read_to_string(entry.path().join("flags")).ok()?;
            let flags = u32::from_str_radix(flags.trim().trim_start_matches("0x"), 16).ok()?;
            (flags & IFF_UP != 0 && flags & IFF_LOOPBACK == 0).then_some(name)
        })
        .collect();
    up.sort();
    up
}

/// The SHA-256 of the running binary and of the module, computed on a
/// thread of its own from the moment a ceremony is prepared: reading some
/// ten megabytes then overlaps the module's loading and the checks instead
/// of holding up the ceremony's first entries. Hashed once per run: a
/// restart's comparison with the first run and the attestation take the
/// same result.
pub struct Digests {
    hashing: Option<JoinHandle<(String, String)>>,
    hashed: Option<(String, String)>,
}

impl Digests {
    pub fn start(module: &Path) -> Digests {
        let module = module.to_path_buf();
        Digests {
            hashing: Some(std::thread::spawn(move || {
                let binary = std::env::current_exe()
                    .map(|p| file_sha256(&p))
                    .unwrap_or_else(|e| format!("unknown: {e}"));
                (binary, file_sha256(&module))
            })),
            hashed: None,
        }
    }

    /// (binary, module), once both are hashed.
    fn wait(&mut self) -> &(String, String) {
        let hashing = self.hashing.take();
        self.hashed.get_or_insert_with(|| {
            hashing
                .and_then(|thread| thread.join().ok())
                .unwrap_or_else(|| {
                    let failed = "unknown: the thread that hashed it failed".to_string();
                    (failed.clone(), failed)
                })
        })
    }
}

/// Everything the attestation records, as the log entry's data.
pub fn attestation(module: &Path, interfaces: &[String], digests: &mut Digests) -> Value {
    let binary = std::env::current_exe();
    let (binary_sha256, module_sha256) = digests.wait();
    json!({
        "tool_version": env!("CARGO_PKG_VERSION"),
        "git_commit": GIT_COMMIT.unwrap_or("unknown"),
        "binary_path": binary.as_ref().map(|p| p.display().to_string()).unwrap_or_default(),
        "binary_sha256": binary_sha256,
        "module_path": module.display().to_string(),
        "module_sha256": module_sha256,
        "hostname": first_line("/proc/sys/kernel/hostname"),
        "os": os_name(),
        "kernel": first_line("/proc/sys/kernel/osrelease"),
        "architecture": std::env::consts::ARCH,
        "system_time": Utc::now().to_rfc3339_opts(SecondsFormat::Millis, true),
        "network_interfaces_up": interfaces,
    })
}
