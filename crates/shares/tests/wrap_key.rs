//! The backup wrap key's shares (kind `W`): a 32-byte secret in the share
//! format of the PINs, 13 groups instead of 8. That every typo in them is
//! caught is tested with the PINs' shares (tests/shares.rs).

use keyceremony_shares::{
    Expected, MAX_SHARES, SecretKind, Share, ShareError, Split, WRAP_KEY_BYTES, Zeroizing, check,
    confirm_wrap_key, rebuild_pin, rebuild_wrap_key, split, split_wrap_key, wrap_key_check_value,
};
use secrecy::ExposeSecret;

const CEREMONY: &str = "root-2026-backup";

fn key(fill: u8) -> Zeroizing<[u8; WRAP_KEY_BYTES]> {
    let mut k = Zeroizing::new([0u8; WRAP_KEY_BYTES]);
    for (i, b) in k.iter_mut().enumerate() {
        *b = fill
            .wrapping_mul(29)
            .wrapping_add((i as u8).wrapping_mul(11))
            ^ 0x5C;
    }
    k
}

fn make(k: u8, n: u8, seed: u8) -> (Zeroizing<[u8; WRAP_KEY_BYTES]>, Split) {
    let secret = key(seed);
    let split = split_wrap_key(CEREMONY, &secret, k, n, [seed; 32]).expect("split");
    (secret, split)
}

fn text(share: &Share) -> String {
    share.to_text().expose_secret().to_string()
}

fn reparse(share: &Share) -> Share {
    Share::parse(&text(share)).expect("own text parses")
}

fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    (0u32..1 << n)
        .filter(|m| m.count_ones() as usize == k)
        .map(|m| (0..n).filter(|i| m & (1 << i) != 0).collect())
        .collect()
}

fn keys_equal(a: &[u8; WRAP_KEY_BYTES], b: &[u8; WRAP_KEY_BYTES]) -> bool {
    a == b
}

#[test]
fn every_quorum_rebuilds_the_wrap_key_and_fewer_are_refused() {
    for (k, n) in [(2u8, 2u8), (2, 3), (3, 5)] {
        let (secret, split) = make(k, n, k * 10 + n);
        assert_eq!(split.set.kind, SecretKind::WrapKey);
        assert!(split.set.to_string().starts_with("W-"), "{}", split.set);
        let expected = Expected::from(&split.set);
        for subset in subsets(n.into(), k.into()) {
            let shares: Vec<Share> = subset.iter().map(|&i| reparse(&split.shares[i])).collect();
            let rebuilt = rebuild_wrap_key(&shares, &expected).expect("a quorum rebuilds");
            assert!(keys_equal(&rebuilt, &secret), "{k}-of-{n} {subset:?}");
        }
        for subset in subsets(n.into(), usize::from(k) - 1) {
            let shares: Vec<Share> = subset.iter().map(|&i| reparse(&split.shares[i])).collect();
            assert_eq!(
                rebuild_wrap_key(&shares, &expected).err(),
                Some(ShareError::NotEnough {
                    have: usize::from(k) - 1,
                    need: k
                })
            );
        }
    }
}

#[test]
fn a_share_text_is_13_groups_and_at_most_107_characters() {
    let (_, split) = make(MAX_SHARES, MAX_SHARES, 3);
    assert_eq!(SecretKind::WrapKey.groups(), 13);
    assert_eq!(SecretKind::UserPin.groups(), 8);
    for share in &split.shares {
        let t = text(share);
        let parts: Vec<&str> = t.split('-').collect();
        assert_eq!(parts.len(), 7 + 13 + 1, "{t}");
        assert!(parts[7..20].iter().all(|g| g.len() == 5));
        assert!(t.len() <= 107, "{} characters", t.len());
        // 256 bits in 52 symbols leave 4 padding bits: the last value
        // symbol is 0 or G.
        assert!(matches!(parts[19].as_bytes()[3], b'0' | b'G'), "{t}");
    }
    // Share 16 of 16 has the longest header: 107 characters in all.
    assert_eq!(text(&split.shares[15]).len(), 107);
}

#[test]
fn the_left_column_of_the_display_lines_parses() {
    let (_, split) = make(2, 3, 4);
    let share = &split.shares[2];
    let lines = share.display_lines();
    let lines = lines.expose_secret();
    assert!(lines.contains("rebuild the wrap key"), "{lines}");
    assert!(lines.contains("groups 9 10 11 12"), "{lines}");
    assert!(lines.contains("group 13\n"), "{lines}");
    let typed: String = lines
        .lines()
        .filter(|l| l.starts_with("  "))
        .map(|l| &l[2..28])
        .collect::<Vec<_>>()
        .join("\n");
    let back = Share::parse(&typed).expect("the left column is the share");
    assert_eq!(text(&back), text(share));
    // Typed without any separator after the header, cut by position.
    let t = text(share);
    let header_end = t.match_indices('-').nth(6).map(|(i, _)| i).expect("header");
    let squashed = format!(
        "{}{}",
        &t[..=header_end],
        t[header_end + 1..].replace('-', "")
    );
    assert_eq!(text(&Share::parse(&squashed).expect("squashed")), t);
    let short = &squashed[..squashed.len() - 1];
    let err = Share::parse(short).expect_err("a character short");
    assert!(err.to_string().contains("13 groups"), "{err}");
}

#[test]
fn a_restore_refuses_foreign_shares_naming_the_entry() {
    let (_, wrap) = make(2, 3, 20);
    let expected = Expected::from(&wrap.set);
    let own = |i: usize| reparse(&wrap.shares[i]);

    // A share of another split of a wrap key in the same ceremony.
    let (_, other) = make(2, 3, 21);
    let foreign = reparse(&other.shares[1]);
    assert!(matches!(
        rebuild_wrap_key(&[own(0), foreign.clone()], &expected),
        Err(ShareError::OtherSplit { entry: 1, .. })
    ));
    // A wrap key's share of another ceremony.
    let elsewhere = split_wrap_key("another-ceremony", &key(20), 2, 3, [20; 32]).expect("split");
    assert!(matches!(
        rebuild_wrap_key(&[own(0), reparse(&elsewhere.shares[1])], &expected),
        Err(ShareError::OtherCeremony { entry: 1, .. })
    ));
    // A PIN's share is not a wrap key's.
    let mut pin_secret = Zeroizing::new([0u8; 20]);
    pin_secret[3] = 9;
    let pins = split(SecretKind::UserPin, CEREMONY, &pin_secret, 2, 3, [5; 32]).expect("split");
    let err = rebuild_wrap_key(&[reparse(&pins.shares[0]), own(1)], &expected).unwrap_err();
    assert!(
        matches!(
            err,
            ShareError::WrongKind {
                entry: 0,
                found: SecretKind::UserPin,
                expected: SecretKind::WrapKey
            }
        ),
        "{err:?}"
    );
    assert!(
        err.to_string()
            .starts_with("entry 1 is a share of the user PIN, not the backup wrap key"),
        "{err}"
    );
    // And a wrap key's share at a PIN login.
    assert!(matches!(
        check(&[own(0)], &Expected::from(&pins.set)),
        Err(ShareError::WrongKind {
            found: SecretKind::WrapKey,
            ..
        })
    ));
    // The same share twice.
    assert!(matches!(
        rebuild_wrap_key(&[own(2), own(2)], &expected),
        Err(ShareError::DuplicateNumber {
            entry: 1,
            number: 3
        })
    ));
}

#[test]
fn a_share_that_was_never_issued_is_found_only_beyond_k() {
    let (secret, wrap) = make(2, 3, 30);
    let expected = Expected::from(&wrap.set);
    // The same seed with another key gives a split of the same identity
    // (the seed decides the nonce): its share 3 passes every check as a
    // share of this split, but is not one.
    let impostor = split_wrap_key(CEREMONY, &key(99), 2, 3, [30; 32]).expect("split");
    assert_eq!(impostor.set, wrap.set);
    let forged = reparse(&impostor.shares[2]);
    assert_ne!(text(&forged), text(&wrap.shares[2]));
    let three = [
        reparse(&wrap.shares[0]),
        reparse(&wrap.shares[1]),
        forged.clone(),
    ];
    assert_eq!(
        rebuild_wrap_key(&three, &expected).err(),
        Some(ShareError::Inconsistent { entry: 2 })
    );
    // Exactly k with the forged one rebuild another key, which the
    // recorded check value refuses before any token sees it.
    let wrong = rebuild_wrap_key(&[reparse(&wrap.shares[0]), forged], &expected).expect("k");
    assert!(!keys_equal(&wrong, &secret));
    let recorded = wrap_key_check_value(&secret);
    assert_eq!(recorded.len(), 16);
    assert!(
        recorded
            .bytes()
            .all(|b| b.is_ascii_hexdigit() && !b.is_ascii_lowercase())
    );
    confirm_wrap_key(&secret, &recorded).expect("the genuine key");
    confirm_wrap_key(&secret, &recorded.to_lowercase()).expect("as typed");
    let err = confirm_wrap_key(&wrong, &recorded).unwrap_err();
    assert_eq!(
        err,
        ShareError::WrongWrapKey {
            recorded: recorded.clone()
        }
    );
    assert!(err.to_string().contains("not a genuine share"), "{err}");
}

#[test]
fn pins_and_wrap_keys_take_their_own_functions() {
    let (secret, wrap) = make(2, 2, 40);
    let pin_secret = Zeroizing::new([7u8; 20]);
    assert!(matches!(
        split(SecretKind::WrapKey, CEREMONY, &pin_secret, 2, 2, [1; 32]),
        Err(ShareError::Params { .. })
    ));
    let shares: Vec<Share> = wrap.shares.iter().map(reparse).collect();
    assert!(matches!(
        rebuild_pin(&shares, &Expected::from(&wrap.set)),
        Err(ShareError::Params { .. })
    ));
    let pins = split(SecretKind::SoPin, CEREMONY, &pin_secret, 2, 2, [1; 32]).expect("split");
    let pin_shares: Vec<Share> = pins.shares.iter().map(reparse).collect();
    assert!(matches!(
        rebuild_wrap_key(&pin_shares, &Expected::from(&pins.set)),
        Err(ShareError::Params { .. })
    ));
    assert!(matches!(
        split_wrap_key(CEREMONY, &secret, 1, 3, [1; 32]),
        Err(ShareError::Params { reason }) if reason.contains("one person rebuild the wrap key")
    ));
}

#[test]
fn nothing_shown_holds_the_key_or_a_share() {
    let (secret, wrap) = make(2, 3, 50);
    let mut secrets: Vec<String> = vec![
        hex::encode(secret.as_slice()),
        hex::encode_upper(secret.as_slice()),
    ];
    for share in &wrap.shares {
        let t = text(share);
        secrets.extend(t.split('-').skip(7).map(str::to_string));
        secrets.push(t);
    }
    let mut shown = vec![format!("{wrap:?}")];
    let expected = Expected::from(&wrap.set);
    let one = reparse(&wrap.shares[0]);
    let t = text(&wrap.shares[0]);
    let errors = [
        rebuild_wrap_key(std::slice::from_ref(&one), &expected).unwrap_err(),
        Share::parse(&format!("{}U{}", &t[..t.len() - 10], &t[t.len() - 9..])).unwrap_err(),
        Share::parse(&t[..t.len() - 3]).unwrap_err(),
    ];
    for e in &errors {
        shown.push(e.to_string());
        shown.push(format!("{e:?}"));
    }
    for text in &shown {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{text:?} shows a secret");
        }
    }
}

/// The wrap key example in docs/shares.md; if this fails, the document is
/// wrong.
#[test]
fn worked_example_in_the_docs() {
    let mut secret = Zeroizing::new([0u8; WRAP_KEY_BYTES]);
    for (i, b) in secret.iter_mut().enumerate() {
        *b = i as u8 * 7;
    }
    let wrap = split_wrap_key("example", &secret, 2, 3, [9; 32]).expect("split");
    assert_eq!(wrap.set.to_string(), "W-Z5T8-G1MT (2 of 3)");
    let shown: Vec<String> = wrap.shares.iter().map(text).collect();
    assert_eq!(shown, EXAMPLE_SHARES);
    assert_eq!(
        wrap.shares[1].display_lines().expose_secret(),
        EXAMPLE_LINES
    );
    let rebuilt = rebuild_wrap_key(
        &[reparse(&wrap.shares[2]), reparse(&wrap.shares[0])],
        &Expected::from(&wrap.set),
    )
    .expect("rebuilds");
    assert!(keys_equal(&rebuilt, &secret));
    assert_eq!(wrap_key_check_value(&secret), EXAMPLE_CHECK);
}

const EXAMPLE_CHECK: &str = "B27017CD4A41C7D4";

const EXAMPLE_SHARES: [&str; 3] = [
    "KC1-W-Z5T8-G1MT-1-2-3-VX69G-1XNPM-SQXMS-K583T-AF177-29GSB-YZHGS-5GKK4-9HS1K-GZ1DA-R9HV6-5JAHP-Y960J-GE1S",
    "KC1-W-Z5T8-G1MT-2-2-3-MP8JM-KJ2KH-WJ9WC-2YA7P-DH41D-X8CMS-9S6S3-T7BJZ-2X58K-A05S0-EM3TA-7QQ4Z-JBM0E-YP4C",
    "KC1-W-Z5T8-G1MT-3-2-3-FBDBV-EAZSW-191BP-KN3V0-F73KS-QQ7FN-T3FEZ-H8C42-TYNGP-FQ9WH-339A5-SMVYQ-P9YGV-7B25",
];
const EXAMPLE_LINES: &str = "\
backup wrap key, share number 2 of set W-Z5T8-G1MT: any 2 of the 3 shares rebuild the wrap key
  KC1-W-Z5T8-G1MT-2-2-3       header
  MP8JM KJ2KH WJ9WC 2YA7P     groups 1 2 3 4
  DH41D X8CMS 9S6S3 T7BJZ     groups 5 6 7 8
  2X58K A05S0 EM3TA 7QQ4Z     groups 9 10 11 12
  JBM0E                       group 13
  YP4C                        final check
Copy the left column exactly; type it back line by line.
";
