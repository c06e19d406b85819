//! The public API end to end: splitting, share text, checks, rebuilding.

use chacha20::ChaCha20Rng;
use chacha20::rand_core::{Rng, SeedableRng};
use keyceremony_shares::{
    Expected, MAX_SHARES, SecretKind, SecretString, Share, ShareError, ShareSet, Split, Zeroizing,
    ceremony_tag, check, pin, rebuild_pin, split, split_wrap_key,
};
use secrecy::ExposeSecret;

const ALPHABET: &str = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const CEREMONY: &str = "root-2025-ceremony";

fn secret(fill: u8) -> Zeroizing<[u8; 20]> {
    let mut s = Zeroizing::new([0u8; 20]);
    for (i, b) in s.iter_mut().enumerate() {
        *b = fill.wrapping_mul(31).wrapping_add(i as u8 * 7);
    }
    s
}

fn make(kind: SecretKind, k: u8, n: u8, seed: u8) -> (Zeroizing<[u8; 20]>, Split) {
    let s = secret(seed);
    let split = split(kind, CEREMONY, &s, k, n, [seed; 32]).expect("split");
    (s, split)
}

fn text(share: &Share) -> String {
    share.to_text().expose_secret().to_string()
}

fn reparse(share: &Share) -> Share {
    Share::parse(&text(share)).expect("own text parses")
}

fn expected_for(split: &Split) -> Expected {
    Expected::from(&split.set)
}

fn pins_equal(a: &SecretString, b: &SecretString) -> bool {
    a.expose_secret() == b.expose_secret()
}

/// Every k-element subset of 0..n.
fn subsets(n: usize, k: usize) -> Vec<Vec<usize>> {
    (0u32..1 << n)
        .filter(|m| m.count_ones() as usize == k)
        .map(|m| (0..n).filter(|i| m & (1 << i) != 0).collect())
        .collect()
}

fn pick(split: &Split, indices: &[usize]) -> Vec<Share> {
    indices.iter().map(|&i| reparse(&split.shares[i])).collect()
}

#[test]
fn every_quorum_rebuilds_the_pin_and_fewer_are_refused() {
    for (k, n) in [(2u8, 2u8), (2, 3), (3, 5)] {
        let (s, split) = make(SecretKind::UserPin, k, n, k * 10 + n);
        let want = pin(&s);
        let expected = expected_for(&split);
        for subset in subsets(n.into(), k.into()) {
            let shares = pick(&split, &subset);
            check(&shares, &expected).expect("a quorum passes the checks");
            let got = rebuild_pin(&shares, &expected).expect("a quorum rebuilds");
            assert!(pins_equal(&got, &want), "{k}-of-{n} subset {subset:?}");
            // Order does not matter.
            let reversed: Vec<Share> = shares.into_iter().rev().collect();
            let got = rebuild_pin(&reversed, &expected).expect("reversed quorum rebuilds");
            assert!(pins_equal(&got, &want));
        }
        for subset in subsets(n.into(), usize::from(k) - 1) {
            let shares = pick(&split, &subset);
            let refused = ShareError::NotEnough {
                have: usize::from(k) - 1,
                need: k,
            };
            assert_eq!(check(&shares, &expected), Err(refused.clone()));
            assert_eq!(rebuild_pin(&shares, &expected).err(), Some(refused));
        }
    }
}

#[test]
fn without_a_known_nonce_a_quorum_still_rebuilds() {
    let (s, split) = make(SecretKind::SoPin, 2, 3, 3);
    let expected = Expected {
        kind: SecretKind::SoPin,
        ceremony_tag: ceremony_tag(CEREMONY),
        nonce: None,
        threshold: 2,
    };
    let got = rebuild_pin(&pick(&split, &[2, 0]), &expected).expect("rebuilds");
    assert!(pins_equal(&got, &pin(&s)));
}

#[test]
fn more_than_k_consistent_shares_rebuild() {
    let (s, split) = make(SecretKind::UserPin, 2, 4, 9);
    let got = rebuild_pin(&pick(&split, &[3, 1, 0, 2]), &expected_for(&split)).expect("rebuilds");
    assert!(pins_equal(&got, &pin(&s)));
}

#[test]
fn pin_is_32_symbols_of_the_alphabet() {
    let p = pin(&secret(1));
    assert_eq!(p.expose_secret().len(), 32);
    assert!(p.expose_secret().chars().all(|c| ALPHABET.contains(c)));
    assert_eq!(
        pin(&Zeroizing::new([0u8; 20])).expose_secret(),
        "0".repeat(32)
    );
    assert_eq!(
        pin(&Zeroizing::new([0xff; 20])).expose_secret(),
        "Z".repeat(32)
    );
}

#[test]
fn ceremony_tag_is_four_symbols_and_depends_on_the_id() {
    let tag = ceremony_tag(CEREMONY);
    assert_eq!(tag.len(), 4);
    assert!(tag.chars().all(|c| ALPHABET.contains(c)));
    assert_eq!(tag, ceremony_tag(CEREMONY));
    assert_ne!(tag, ceremony_tag("root-2026-ceremony"));
    // Known answer: SHA-256("keyceremony ceremony tag v1" || "example") begins
    // 0xf9 0x74 0x80 (computed independently with Python's hashlib).
    assert_eq!(ceremony_tag("example"), "Z5T8");
}

#[test]
fn the_split_has_the_asked_identity_and_numbers() {
    let (_, split) = make(SecretKind::UserPin, 3, 5, 4);
    assert_eq!(split.set.kind, SecretKind::UserPin);
    assert_eq!(split.set.ceremony_tag, ceremony_tag(CEREMONY));
    assert_eq!(split.set.nonce.len(), 4);
    assert_eq!((split.set.threshold, split.set.count), (3, 5));
    for (i, share) in split.shares.iter().enumerate() {
        assert_eq!(usize::from(share.number()), i + 1);
        assert_eq!(share.set(), &split.set);
    }
    assert_eq!(
        split.set.to_string(),
        format!("U-{}-{} (3 of 5)", split.set.ceremony_tag, split.set.nonce)
    );
    assert_eq!(SecretKind::SoPin.to_string(), "SO PIN");
    assert_eq!(SecretKind::UserPin.to_string(), "user PIN");
    assert_eq!(SecretKind::SoPin.as_str(), "so-pin");
    assert_eq!(SecretKind::UserPin.as_str(), "user-pin");
    assert_eq!(
        (SecretKind::SoPin.tag(), SecretKind::UserPin.tag()),
        ('S', 'U')
    );
}

#[test]
fn the_seed_decides_the_split() {
    let s = secret(5);
    let a = split(SecretKind::UserPin, CEREMONY, &s, 2, 3, [1; 32]).expect("split");
    let b = split(SecretKind::UserPin, CEREMONY, &s, 2, 3, [1; 32]).expect("split");
    let c = split(SecretKind::UserPin, CEREMONY, &s, 2, 3, [2; 32]).expect("split");
    assert_eq!(text(&a.shares[0]), text(&b.shares[0]));
    assert_ne!(a.set.nonce, c.set.nonce);
    assert_ne!(text(&a.shares[0]), text(&c.shares[0]));
}

#[test]
fn split_refuses_bad_parameters() {
    let s = secret(6);
    for (k, n) in [(1u8, 3u8), (0, 2), (4, 3), (2, MAX_SHARES + 1), (2, 255)] {
        let e = split(SecretKind::UserPin, CEREMONY, &s, k, n, [0; 32]).expect_err("refused");
        assert!(matches!(e, ShareError::Params { .. }), "{k}-of-{n}: {e}");
    }
    let e = split(SecretKind::UserPin, "", &s, 2, 3, [0; 32]).expect_err("refused");
    assert!(matches!(e, ShareError::Params { .. }));
    assert!(
        split(
            SecretKind::UserPin,
            CEREMONY,
            &s,
            MAX_SHARES,
            MAX_SHARES,
            [0; 32]
        )
        .is_ok()
    );
}

#[test]
fn text_round_trip() {
    let (_, split) = make(SecretKind::SoPin, 3, 5, 7);
    for share in &split.shares {
        let t = text(share);
        let back = Share::parse(&t).expect("parses");
        assert_eq!(back.number(), share.number());
        assert_eq!(back.set(), share.set());
        assert_eq!(text(&back), t, "same value");
        assert!(t.starts_with(&format!(
            "KC1-S-{}-{}-{}-3-5-",
            split.set.ceremony_tag,
            split.set.nonce,
            share.number()
        )));
        let parts: Vec<&str> = t.split('-').collect();
        assert_eq!(parts.len(), 16);
        assert!(parts[7..15].iter().all(|g| g.len() == 5));
        assert_eq!(parts[15].len(), 4);
    }
}

#[test]
fn parse_is_tolerant() {
    let (_, split) = make(SecretKind::UserPin, 2, 3, 8);
    for share in &split.shares {
        let t = text(share);
        let variants = [
            t.to_lowercase(),
            t.replace('-', " "),
            t.replace('-', "  \t"),
            format!("  {}\n", t.replace('-', " - ")),
            t.replace('0', "O").replace('1', "I"),
            t.replace('0', "o").replace('1', "l").to_lowercase(),
            t.replace('1', "L"),
            t.replace('-', "\u{2013}"),
        ];
        for v in variants {
            let back = Share::parse(&v).expect("tolerated");
            assert_eq!(text(&back), t);
        }
        // The groups and check typed with no separators, or with them in
        // other places, are cut by position.
        let header_len = t.match_indices('-').nth(6).map(|(i, _)| i).expect("header");
        let (header, body) = t.split_at(header_len);
        let run_on = format!("{header} {}", body.replace('-', ""));
        assert_eq!(text(&Share::parse(&run_on).expect("run-on body")), t);
        let regrouped: String = body
            .replace('-', "")
            .as_bytes()
            .chunks(4)
            .map(|c| String::from_utf8_lossy(c).into_owned())
            .collect::<Vec<_>>()
            .join(" ");
        assert_eq!(
            text(&Share::parse(&format!("{header} {regrouped}")).expect("regrouped")),
            t
        );
    }
}

#[test]
fn the_left_column_of_the_display_lines_parses() {
    let (_, split) = make(SecretKind::UserPin, 2, 3, 9);
    for share in &split.shares {
        let shown = share.display_lines();
        let lines: Vec<&str> = shown.expose_secret().lines().collect();
        assert_eq!(lines.len(), 6, "{}", lines.join("\n").len());
        assert!(lines[0].starts_with(&format!("user PIN, share number {} of set", share.number())));
        assert!(lines[0].contains(&format!("U-{}-{}", split.set.ceremony_tag, split.set.nonce)));
        // What a custodian types: the left column of lines 2 to 5.
        let typed: Vec<&str> = lines[1..5].iter().map(|l| l[..30].trim()).collect();
        assert_eq!(typed[0].split('-').count(), 7);
        assert_eq!(typed[1].split(' ').count(), 4);
        assert_eq!(typed[3].len(), 4);
        let back = Share::parse(&typed.join("\n")).expect("typed from the screen");
        assert_eq!(text(&back), text(share));
        assert!(lines[2].ends_with("groups 1 2 3 4"));
        assert!(lines[3].ends_with("groups 5 6 7 8"));
    }
}

/// Replaces the character at `at` of `t`.
fn substitute(t: &str, at: usize, c: char) -> String {
    let mut v: Vec<char> = t.chars().collect();
    v[at] = c;
    v.into_iter().collect()
}

#[test]
fn every_single_substitution_in_the_groups_is_caught() {
    let (_, split) = make(SecretKind::UserPin, 3, 5, 11);
    every_single_substitution_is_caught(&split);
}

#[test]
fn every_single_substitution_in_a_wrap_key_share_is_caught() {
    let key = Zeroizing::new([0xA7; 32]);
    let split = split_wrap_key(CEREMONY, &key, 3, 4, [11; 32]).expect("split");
    every_single_substitution_is_caught(&split);
}

/// Every substitution of every symbol of every group is caught, and names
/// its group unless only the final check finds it. The 5-bit group checks
/// miss about 1 in 32 changes of a value symbol; the 20-bit final check
/// catches those, so one substitution passes both about 1 time in 2^25,
/// for the 8 groups of a PIN's share as for the 13 of a wrap key's.
fn every_single_substitution_is_caught(split: &Split) {
    let groups = split.set.kind.groups();
    let mut by_group_check = 0usize;
    let mut by_final_check = 0usize;
    for share in &split.shares {
        let t = text(share);
        let header_len = t.match_indices('-').nth(6).map(|(i, _)| i).expect("header");
        for group in 0..groups {
            let start = header_len + 1 + group * 6;
            for offset in 0..5 {
                let at = start + offset;
                let original = t.as_bytes()[at] as char;
                for c in ALPHABET.chars().filter(|&c| c != original) {
                    match Share::parse(&substitute(&t, at, c)) {
                        Err(ShareError::GroupMistyped { group: g }) => {
                            assert_eq!(usize::from(g), group + 1, "the right group is named");
                            by_group_check += 1;
                        }
                        Err(ShareError::ChecksumMismatch) => {
                            assert!(offset < 4, "a changed check symbol always fails its group");
                            by_final_check += 1;
                        }
                        other => panic!("group {} position {offset}: {other:?}", group + 1),
                    }
                }
            }
        }
        // The final check itself.
        for at in t.len() - 4..t.len() {
            let original = t.as_bytes()[at] as char;
            for c in ALPHABET.chars().filter(|&c| c != original) {
                assert_eq!(
                    Share::parse(&substitute(&t, at, c)).err(),
                    Some(ShareError::ChecksumMismatch)
                );
            }
        }
    }
    // Shares x groups x 5 positions x 31 symbols, every one caught.
    let shares = split.shares.len();
    assert_eq!(by_group_check + by_final_check, shares * groups * 5 * 31);
    assert!(by_final_check > 0 && by_final_check < shares * groups * 4 * 31 / 10);
}

#[test]
fn swapped_groups_are_caught() {
    let (_, split) = make(SecretKind::UserPin, 2, 3, 12);
    swapped_groups_are_refused(&split);
    let key = Zeroizing::new([0x3C; 32]);
    swapped_groups_are_refused(&split_wrap_key(CEREMONY, &key, 2, 3, [12; 32]).expect("split"));
}

fn swapped_groups_are_refused(split: &Split) {
    let last_group = 6 + split.set.kind.groups();
    for share in &split.shares {
        let t = text(share);
        let parts: Vec<&str> = t.split('-').collect();
        for g in 7..last_group {
            let mut swapped = parts.clone();
            swapped.swap(g, g + 1);
            let e = Share::parse(&swapped.join("-")).expect_err("swap caught");
            assert!(
                matches!(
                    e,
                    ShareError::SeveralMistyped { .. }
                        | ShareError::GroupMistyped { .. }
                        | ShareError::ChecksumMismatch
                ),
                "{e:?}"
            );
        }
    }
}

#[test]
fn a_mistyped_header_is_caught() {
    let (_, split) = make(SecretKind::UserPin, 3, 5, 13);
    let share = &split.shares[1];
    let t = text(share);
    let parts: Vec<&str> = t.split('-').collect();
    let with = |i: usize, v: &str| {
        let mut p = parts.clone();
        p[i] = v;
        p.join("-")
    };
    // Kind letter, share number, threshold, count: still well formed, so the
    // group checks (which cover the header) catch them.
    for typo in [
        with(1, "S"),
        with(4, "1"),
        with(4, "4"),
        with(5, "2"),
        with(5, "4"),
        with(6, "6"),
    ] {
        let e = Share::parse(&typo).expect_err("header typo caught");
        assert!(
            matches!(
                e,
                ShareError::SeveralMistyped { .. } | ShareError::ChecksumMismatch
            ),
            "{e:?}"
        );
        if let ShareError::SeveralMistyped { groups } = &e {
            assert!(groups.len() >= 2);
            assert!(e.to_string().contains("first line"));
        }
    }
    // Every substitution in the ceremony tag and the nonce.
    for i in [2, 3] {
        for pos in 0..4 {
            for c in ALPHABET
                .chars()
                .filter(|&c| Some(c) != parts[i].chars().nth(pos))
            {
                let changed: String = parts[i]
                    .chars()
                    .enumerate()
                    .map(|(j, o)| if j == pos { c } else { o })
                    .collect();
                assert!(Share::parse(&with(i, &changed)).is_err());
            }
        }
    }
    // Out of range or malformed: refused as format errors.
    for typo in [
        with(1, "X"),
        with(4, "0"),
        with(4, "6"),
        with(5, "1"),
        with(5, "6"),
        with(6, "17"),
        with(6, "2"),
        with(4, "123"),
        with(0, "KC2"),
        with(0, "XY1"),
        with(2, "7KQ"),
        with(3, "UUUU"),
    ] {
        let e = Share::parse(&typo).expect_err("refused");
        assert!(matches!(e, ShareError::Format { .. }), "{e:?}");
    }
}

#[test]
fn malformed_text_is_refused_with_a_reason() {
    let (_, split) = make(SecretKind::UserPin, 2, 3, 14);
    let t = text(&split.shares[0]);
    let parts: Vec<&str> = t.split('-').collect();
    // A group one character short or long is named.
    let mut short = parts.clone();
    let cut = &parts[9][..4];
    short[9] = cut;
    assert_eq!(
        Share::parse(&short.join("-")).err(),
        Some(ShareError::GroupMistyped { group: 3 })
    );
    // A U (not in the alphabet) in a group names the group.
    let mut with_u = parts.clone();
    let u_group = format!("U{}", &parts[12][1..]);
    with_u[12] = &u_group;
    assert_eq!(
        Share::parse(&with_u.join("-")).err(),
        Some(ShareError::GroupMistyped { group: 6 })
    );
    for bad in [
        String::new(),
        "   ".to_string(),
        parts[..7].join("-"),
        parts[..15].join("-"),
        format!("{t}-ABCDE"),
        t.replacen('-', "", 1),
        format!("(1) {t}"),
        t.replace('-', "_"),
    ] {
        let e = Share::parse(&bad).expect_err("refused");
        assert!(matches!(e, ShareError::Format { .. }), "{e:?}");
    }
}

#[test]
fn shares_from_elsewhere_are_refused_naming_the_entry() {
    let (_, user) = make(SecretKind::UserPin, 2, 3, 20);
    let (_, so) = make(SecretKind::SoPin, 2, 3, 20);
    let other_id = split(
        SecretKind::UserPin,
        "another-ceremony",
        &secret(20),
        2,
        3,
        [21; 32],
    )
    .expect("split");
    let resplit = split(SecretKind::UserPin, CEREMONY, &secret(20), 2, 3, [22; 32]).expect("split");
    let three_of_three =
        split(SecretKind::UserPin, CEREMONY, &secret(20), 3, 3, [23; 32]).expect("split");
    let expected = expected_for(&user);

    let user_share = |i: usize| reparse(&user.shares[i]);

    let e = check(&[user_share(0), reparse(&other_id.shares[1])], &expected).expect_err("refused");
    assert_eq!(
        e,
        ShareError::OtherCeremony {
            entry: 1,
            found: ceremony_tag("another-ceremony"),
            expected: ceremony_tag(CEREMONY),
        }
    );
    assert!(
        e.to_string()
            .contains("entry 2 belongs to another ceremony")
    );

    let e = check(&[reparse(&so.shares[0]), user_share(1)], &expected).expect_err("refused");
    assert_eq!(
        e,
        ShareError::WrongKind {
            entry: 0,
            found: SecretKind::SoPin,
            expected: SecretKind::UserPin,
        }
    );
    assert!(
        e.to_string()
            .contains("is a share of the SO PIN, not the user PIN")
    );

    let e = check(&[user_share(0), reparse(&resplit.shares[1])], &expected).expect_err("refused");
    assert!(
        matches!(e, ShareError::OtherSplit { entry: 1, .. }),
        "{e:?}"
    );
    assert!(
        e.to_string()
            .contains("belongs to another split of this secret")
    );

    // Without a known nonce, the first entry's split is the one expected.
    let loose = Expected {
        nonce: None,
        ..expected.clone()
    };
    let e = check(&[user_share(2), reparse(&resplit.shares[0])], &loose).expect_err("refused");
    assert!(
        matches!(e, ShareError::OtherSplit { entry: 1, .. }),
        "{e:?}"
    );

    let e =
        check(&[user_share(0), reparse(&three_of_three.shares[1])], &loose).expect_err("refused");
    assert!(
        matches!(e, ShareError::OtherSplit { entry: 1, .. })
            || matches!(e, ShareError::WrongThreshold { .. })
    );
    let e = check(
        &[reparse(&three_of_three.shares[1])],
        &Expected {
            nonce: None,
            ..expected.clone()
        },
    )
    .expect_err("refused");
    assert_eq!(
        e,
        ShareError::WrongThreshold {
            entry: 0,
            found: 3,
            expected: 2,
        }
    );

    let e = check(&[user_share(1), user_share(1)], &expected).expect_err("refused");
    assert_eq!(
        e,
        ShareError::DuplicateNumber {
            entry: 1,
            number: 2
        }
    );
    assert!(e.to_string().contains("share 2 was already entered"));
    assert_eq!(
        rebuild_pin(&[user_share(1), user_share(1)], &expected).err(),
        Some(ShareError::DuplicateNumber {
            entry: 1,
            number: 2
        })
    );

    let e = check(&[user_share(1)], &expected).expect_err("refused");
    assert_eq!(e, ShareError::NotEnough { have: 1, need: 2 });
    assert!(e.to_string().contains("1 of 2 shares entered; 2 needed"));
    assert_eq!(
        check(&[], &expected),
        Err(ShareError::NotEnough { have: 0, need: 2 })
    );

    let bad = Expected {
        threshold: 1,
        ..expected.clone()
    };
    assert!(matches!(
        check(&[user_share(0)], &bad),
        Err(ShareError::Params { .. })
    ));
}

#[test]
fn the_first_failing_entry_is_reported() {
    let (_, user) = make(SecretKind::UserPin, 2, 3, 30);
    let (_, so) = make(SecretKind::SoPin, 2, 3, 30);
    let shares = [
        reparse(&user.shares[0]),
        reparse(&user.shares[1]),
        reparse(&so.shares[2]),
        reparse(&user.shares[0]),
    ];
    assert!(matches!(
        check(&shares, &expected_for(&user)),
        Err(ShareError::WrongKind { entry: 2, .. })
    ));
}

/// Everything secret about a share: its text, its groups, its PIN-like
/// value run, and the rebuilt PIN.
fn secret_strings(share: &Share) -> Vec<String> {
    let t = text(share);
    let mut out: Vec<String> = t.split('-').skip(7).map(str::to_string).collect();
    out.push(t.clone());
    out.push(t.to_lowercase());
    out
}

#[test]
fn debug_and_errors_never_show_a_share() {
    let (s, split) = make(SecretKind::UserPin, 2, 3, 40);
    let mut secrets: Vec<String> = split.shares.iter().flat_map(secret_strings).collect();
    secrets.push(pin(&s).expose_secret().to_string());
    secrets.push(hex::encode(s.as_ref()));
    secrets.push(hex::encode_upper(s.as_ref()));

    let mut shown: Vec<String> = Vec::new();
    for share in &split.shares {
        shown.push(format!("{share:?}"));
        shown.push(format!("{share:#?}"));
    }
    shown.push(format!("{split:?}"));
    let expected = expected_for(&split);
    let t = text(&split.shares[0]);
    let parts: Vec<&str> = t.split('-').collect();
    let mut errors: Vec<ShareError> = Vec::new();
    // Parse errors from real typos of this share.
    for at in [t.len() - 1, t.len() - 30, 25] {
        for c in ["0", "Z", "(", " "] {
            let mut typo = t.clone();
            typo.replace_range(at..at + 1, c);
            if let Err(e) = Share::parse(&typo) {
                errors.push(e);
            }
        }
    }
    let mut kind_typo = parts.clone();
    kind_typo[1] = "S";
    errors.extend(Share::parse(&kind_typo.join("-")).err());
    errors.extend(Share::parse(&t[..t.len() - 1]).err());
    errors.extend(Share::parse(&t.replace('-', "")).err());
    let one = reparse(&split.shares[0]);
    errors.extend(check(&[reparse(&one), reparse(&one)], &expected).err());
    errors.extend(check(std::slice::from_ref(&one), &expected).err());
    errors.extend(rebuild_pin(std::slice::from_ref(&one), &expected).err());
    for e in &errors {
        shown.push(e.to_string());
        shown.push(format!("{e:?}"));
    }
    assert!(errors.len() >= 8, "{errors:?}");
    for text in &shown {
        for secret in &secrets {
            assert!(!text.contains(secret.as_str()), "{text:?} shows a secret");
        }
    }
    // Debug of a share is its identity only.
    let debug = format!("{:?}", split.shares[0]);
    assert!(debug.contains("number: 1"));
    assert!(debug.contains(&split.set.nonce));
    assert!(!debug.contains("value"));
}

#[test]
fn property_random_quorums_round_trip() {
    let mut rng = ChaCha20Rng::from_seed([99; 32]);
    let mut rounds = 0;
    for k in 2u8..=5 {
        for n in k..=8 {
            for _ in 0..4 {
                let mut s = Zeroizing::new([0u8; 20]);
                rng.fill_bytes(s.as_mut());
                let mut seed = [0u8; 32];
                rng.fill_bytes(&mut seed);
                let kind = if rng.next_u32() & 1 == 0 {
                    SecretKind::SoPin
                } else {
                    SecretKind::UserPin
                };
                let split = split(kind, CEREMONY, &s, k, n, seed).expect("split");
                // A random quorum, in random order, through the text.
                let mut order: Vec<usize> = (0..usize::from(n)).collect();
                for i in (1..order.len()).rev() {
                    let j = rng.next_u32() as usize % (i + 1);
                    order.swap(i, j);
                }
                let take = usize::from(k) + (rng.next_u32() as usize % (usize::from(n - k) + 1));
                let shares = pick(&split, &order[..take]);
                let got = rebuild_pin(&shares, &expected_for(&split)).expect("rebuilds");
                assert!(pins_equal(&got, &pin(&s)), "{k}-of-{n} taking {take}");
                assert_eq!(
                    rebuild_pin(&shares[..usize::from(k) - 1], &expected_for(&split)).err(),
                    Some(ShareError::NotEnough {
                        have: usize::from(k) - 1,
                        need: k
                    })
                );
                rounds += 1;
            }
        }
    }
    assert_eq!(rounds, 4 * (7 + 6 + 5 + 4));
}

/// The worked example in docs/shares.md; if this fails, the document is
/// wrong.
#[test]
fn worked_example_in_the_docs() {
    let mut s = Zeroizing::new([0u8; 20]);
    for (i, b) in s.iter_mut().enumerate() {
        *b = i as u8 * 13;
    }
    let split = split(SecretKind::UserPin, "example", &s, 2, 3, [7; 32]).expect("split");
    let shown: Vec<String> = split.shares.iter().map(text).collect();
    let lines = split.shares[1].display_lines();
    assert_eq!(split.set.to_string(), EXAMPLE_SET);
    assert_eq!(pin(&s).expose_secret(), EXAMPLE_PIN);
    assert_eq!(shown, EXAMPLE_SHARES);
    assert_eq!(lines.expose_secret(), EXAMPLE_LINES);
}

const EXAMPLE_SET: &str = "U-Z5T8-F290 (2 of 3)";
const EXAMPLE_PIN: &str = "006HM9SM8575PT3NGA7SSADPRF8DVTQQ";
const EXAMPLE_SHARES: [&str; 3] = [
    "KC1-U-Z5T8-F290-1-2-3-AWCVY-DAS05-ED4HP-XMEYH-226BR-RWE2H-YJR1Z-T8T1D-G3G9",
    "KC1-U-Z5T8-F290-2-2-3-NRJNZ-J90W3-4N0D8-209R4-QP4XB-R0JY6-NM846-CRW0X-SNRT",
    "KC1-U-Z5T8-F290-3-2-3-Z4RZZ-BA084-2X3SF-9E4KY-5Y5F0-SPHAS-K9R8C-DAHPQ-8NCM",
];
const EXAMPLE_LINES: &str = "\
user PIN, share number 2 of set U-Z5T8-F290: any 2 of the 3 shares rebuild the PIN
  KC1-U-Z5T8-F290-2-2-3       header
  NRJNZ J90W3 4N0D8 209R4     groups 1 2 3 4
  QP4XB R0JY6 NM846 CRW0X     groups 5 6 7 8
  SNRT                        final check
Copy the left column exactly; type it back line by line.
";

#[test]
fn share_set_is_plain_data() {
    let set = ShareSet {
        kind: SecretKind::SoPin,
        ceremony_tag: "7KQ2".into(),
        nonce: "M9XD".into(),
        threshold: 2,
        count: 3,
    };
    assert_eq!(set.to_string(), "S-7KQ2-M9XD (2 of 3)");
    let expected = Expected::from(&set);
    assert_eq!(expected.nonce.as_deref(), Some("M9XD"));
    assert_eq!(expected.threshold, 2);
}
