//! The room as the log records it: who is in it and who was identified,
//! which share each custodian received, every tamper-evident bag and what
//! is in it now, and how many shares were refused and logins failed (CPS
//! 5.2.2, 5.2.3, 5.4.1, 6.4.2). The runner feeds it every entry it writes, and a resumed or
//! aborted run replays the whole log into it first, so every run of one
//! ceremony checks and counts against the same record, never against what
//! one process remembers.

use std::collections::{BTreeMap, BTreeSet};

use keyceremony_script::{HsmSettings, Secret};
use serde_json::Value;

/// The script's limits on failures, per ceremony (`[hsm]`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    pub max_refused_shares: u32,
    pub max_failed_logins: u32,
}

impl Limits {
    pub fn of(hsm: &HsmSettings) -> Limits {
        Limits {
            max_refused_shares: hsm.max_refused_shares,
            max_failed_logins: hsm.max_failed_logins,
        }
    }
}

/// What the log says so far.
#[derive(Debug, Clone, Default)]
pub struct Room {
    /// (secret, custodian) -> the number of the share issued to them.
    holders: BTreeMap<(Secret, String), u8>,
    /// `share-rejected` entries: shares refused before any PKCS#11 call.
    pub refused_shares: u32,
    /// `login-failed` entries: PINs the ceremony's token refused.
    pub failed_logins: u32,
    /// `login-failed` entries naming the witness's token: PINs it refused
    /// at the seal, counted apart (another token, another person's PIN)
    /// against the same limit.
    pub witness_failed_logins: u32,
    limits: Option<Limits>,
    /// Every bag serial recorded, with what went into it: none twice.
    bags: Vec<(String, String)>,
    /// Item -> the serial of the last bag recorded for it.
    current: BTreeMap<String, String>,
    /// A check-in was recorded: from then on, who is in the room is known.
    checked_in: bool,
    /// Participants in the room now.
    present: BTreeSet<String>,
    /// Participants whose identity document was checked in this ceremony.
    identified: BTreeSet<String>,
    /// Participant -> where the log says they are, when not in the room.
    away: BTreeMap<String, String>,
}

/// The item a share bag holds, as the chain of bags names it.
pub fn share_item(secret: Secret, custodian: &str) -> String {
    format!("{custodian}'s {} share", secret.as_str())
}

fn secret_named(name: &str) -> Option<Secret> {
    Secret::SHARED.into_iter().find(|s| s.as_str() == name)
}

impl Room {
    pub fn new(limits: Limits) -> Room {
        Room {
            limits: Some(limits),
            ..Room::default()
        }
    }

    /// Takes in one log entry (as written: `kind`, `actor`, `data`).
    pub fn observe(&mut self, entry: &Value) {
        let data = &entry["data"];
        let text = |key: &str| data[key].as_str().unwrap_or_default().to_string();
        match entry["kind"].as_str().unwrap_or_default() {
            "share-issued" => {
                let number = data["number"].as_u64().and_then(|n| u8::try_from(n).ok());
                if let (Some(secret), Some(number)) = (secret_named(&text("secret")), number) {
                    self.holders.insert((secret, text("custodian")), number);
                    self.sealed(&share_item(secret, &text("custodian")), &text("bag"));
                }
            }
            "bag-sealed" => {
                if let Some(secret) = secret_named(&text("secret")) {
                    self.sealed(&share_item(secret, &text("custodian")), &text("serial"));
                }
            }
            "recorded" if data["seals"].is_string() => {
                self.sealed(&text("seals"), &text("value"));
            }
            "check-in" => {
                let who = text("participant");
                self.checked_in = true;
                if data["document"].is_string() {
                    self.identified.insert(who.clone());
                }
                if data["present"] == false {
                    self.away
                        .insert(who.clone(), format!("absent: {}", text("reason")));
                    self.present.remove(&who);
                } else {
                    self.away.remove(&who);
                    self.present.insert(who);
                }
            }
            "presence" => {
                let who = text("participant");
                if data["document"].is_string() {
                    self.identified.insert(who.clone());
                }
                if text("change") == "leaves" {
                    let at = text("at");
                    let clock = at.get(11..19).unwrap_or(&at);
                    self.away
                        .insert(who.clone(), format!("left at {clock}: {}", text("reason")));
                    self.present.remove(&who);
                } else {
                    self.away.remove(&who);
                    self.present.insert(who);
                }
            }
            "share-rejected" => self.refused_shares += 1,
            "login-failed" if data["witness_token"].is_string() => self.witness_failed_logins += 1,
            "login-failed" => self.failed_logins += 1,
            _ => {}
        }
    }

    /// Whether who is in the room is known yet (after the first check-in).
    pub fn checked_in(&self) -> bool {
        self.checked_in
    }

    pub fn in_room(&self, id: &str) -> bool {
        self.present.contains(id)
    }

    /// Whether `id`'s identity document was checked in this ceremony.
    pub fn identified(&self, id: &str) -> bool {
        self.identified.contains(id)
    }

    /// Where the log says `id` is, when not in the room.
    pub fn whereabouts(&self, id: &str) -> String {
        self.away
            .get(id)
            .cloned()
            .unwrap_or_else(|| "not checked in".to_string())
    }

    fn sealed(&mut self, item: &str, serial: &str) {
        self.bags.push((serial.to_string(), item.to_string()));
        self.current.insert(item.to_string(), serial.to_string());
    }

    /// The serial of the last bag recorded for `item`: the one it should
    /// come out of.
    pub fn current_bag(&self, item: &str) -> Option<&str> {
        self.current.get(item).map(String::as_str)
    }

    /// What bag `serial` held, when the log records it already.
    pub fn bag_held(&self, serial: &str) -> Option<&str> {
        self.bags
            .iter()
            .find(|(s, _)| s == serial)
            .map(|(_, item)| item.as_str())
    }

    /// The number of the share of `secret` issued to `custodian`, as the
    /// log records it; None when the log records no share of `secret` for
    /// them.
    pub fn share_of(&self, secret: Secret, custodian: &str) -> Option<u8> {
        self.holders.get(&(secret, custodian.to_string())).copied()
    }

    /// Whether this log records the issue of any share of `secret` (a
    /// ceremony on a token initialised earlier records none).
    pub fn issued(&self, secret: Secret) -> bool {
        self.holders.keys().any(|(s, _)| *s == secret)
    }

    /// Who received share `number` of `secret`, as the log records it.
    pub fn holder_of(&self, secret: Secret, number: u8) -> Option<&str> {
        self.holders
            .iter()
            .find(|((s, _), n)| *s == secret && **n == number)
            .map(|((_, custodian), _)| custodian.as_str())
    }

    /// The token refused as many logins as the script allows: no login is
    /// tried on it again in this ceremony.
    pub fn logins_exhausted(&self) -> bool {
        self.limits
            .is_some_and(|l| self.failed_logins >= l.max_failed_logins)
    }

    /// The witness's token refused as many PINs as the script allows: no
    /// PIN is tried on it again in this ceremony.
    pub fn witness_logins_exhausted(&self) -> bool {
        self.limits
            .is_some_and(|l| self.witness_failed_logins >= l.max_failed_logins)
    }

    /// Why the ceremony can only be aborted, when a limit is reached.
    pub fn limit_reached(&self) -> Option<String> {
        let limits = self.limits?;
        if self.failed_logins >= limits.max_failed_logins {
            Some(format!(
                "the token refused {} login(s) in this ceremony, the limit the script sets (hsm.max_failed_logins = {}): no login is tried on it again, so that it is not locked out, and the ceremony can only be aborted (CPS 5.4.1)",
                self.failed_logins, limits.max_failed_logins
            ))
        } else if self.witness_failed_logins >= limits.max_failed_logins {
            Some(format!(
                "the witness's own token refused {} PIN(s) in this ceremony, the limit the script sets (hsm.max_failed_logins = {}): no PIN is tried on it again, so that it is not locked out, and the ceremony can only be aborted (CPS 5.4.1)",
                self.witness_failed_logins, limits.max_failed_logins
            ))
        } else if self.refused_shares >= limits.max_refused_shares {
            Some(format!(
                "{} share(s) were refused in this ceremony, the limit the script sets (hsm.max_refused_shares = {}): the ceremony can only be aborted (CPS 5.4.1)",
                self.refused_shares, limits.max_refused_shares
            ))
        } else {
            None
        }
    }

    pub fn limits(&self) -> Option<Limits> {
        self.limits
    }
}
