//! The policy file and the checks of a ceremony script against it: the shipped scripts pass
//! the shipped policy, and each rule refuses a script that breaks it, citing its section.

mod common;

use common::{SHIPPED_SCRIPTS, policy_after, reference_policy, script_after, shipped_path};
use keyceremony_policy::{Policy, PolicyError, StepKind, check_loaded_script, check_script};
use keyceremony_script::{Action, KeyAlgorithm, LoadedScript, Role, Violation};
use keyceremony_x509::SignatureAlgorithm;

fn assert_refused(violations: &[Violation], path: &str, section: &str, words: &str) {
    assert!(
        violations.iter().any(|v| v.path == path
            && v.rule.is_some_and(|r| r.contains(section))
            && v.message.contains(words)),
        "no violation at {path} [{section}] with '{words}' in {violations:#?}"
    );
}

/// `acts[a].steps[s]` of the first step whose action matches.
fn step_path(loaded: &LoadedScript, matches: impl Fn(&Action) -> bool) -> String {
    for (a, act) in loaded.script.acts.iter().enumerate() {
        for (s, step) in act.steps.iter().enumerate() {
            if matches(&step.action) {
                return format!("acts[{a}].steps[{s}]");
            }
        }
    }
    panic!("no such step");
}

#[test]
fn the_reference_policy_transcribes_the_cps() {
    let policy = reference_policy();
    assert_eq!(policy.name, "reference-cps");
    assert!(policy.document.contains("6.05"));
    assert_eq!(policy.algorithms.section, "CPS 6.1.5");
    let pairs: Vec<_> = policy
        .algorithms
        .allowed
        .iter()
        .map(|p| (p.key, p.signature))
        .collect();
    assert_eq!(
        pairs,
        [
            (
                KeyAlgorithm::Rsa4096,
                SignatureAlgorithm::Sha384WithRsaEncryption
            ),
            (KeyAlgorithm::EcP384, SignatureAlgorithm::EcdsaWithSha384)
        ]
    );
    assert_eq!(
        (policy.validity.min_days, policy.validity.max_days),
        (2922, 9132)
    );
    assert!(policy.validity.section.contains("CPS 6.3.2"));
    assert_eq!(policy.two_person_control.min_threshold, 2);
    assert!(policy.two_person_control.section.contains("CPS 5.2.2"));
    assert_eq!(policy.activation_data.min_custodians, 2);
    assert!(policy.activation_data.section.contains("CPS 6.4.1"));
    assert_eq!(policy.witness.role, Role::QualifiedAuditor);
    assert_eq!(
        policy.witness.actions,
        [StepKind::GenerateKey, StepKind::SelfSign]
    );
    assert_eq!(policy.witness.section, "CPS 6.1.1");
    assert_eq!(policy.separation_of_duties.section, "CPS 5.2.4");
    assert_eq!(policy.separation_of_duties.duties.len(), 3);
    let clock = policy.clock.expect("the reference policy limits the clock");
    assert_eq!((clock.section, clock.max_offset_seconds), ("CPS 5.5.5", 60));
}

#[test]
fn shipped_scripts_meet_the_reference_policy() {
    let policy = reference_policy();
    for name in SHIPPED_SCRIPTS {
        let loaded = LoadedScript::load(&shipped_path(name)).expect("valid script");
        assert_eq!(check_loaded_script(&policy, &loaded), [], "{name}");
    }
}

#[test]
fn resolve_finds_the_policy_beside_the_script() {
    let script = shipped_path("root-rsa4096");
    let path = Policy::resolve(&script, "reference-cps").expect("resolve");
    assert_eq!(path, common::reference_policy_path());
    assert_eq!(Policy::load(&path).expect("load").name, "reference-cps");
    for bad in ["../reference-cps", "a/b", "", "Reference", "x.toml"] {
        assert!(
            matches!(
                Policy::resolve(&script, bad),
                Err(PolicyError::InvalidPolicyName(_))
            ),
            "{bad}"
        );
    }
}

#[test]
fn rsa_2048_key_is_refused() {
    let loaded = script_after(
        "root-rsa4096",
        &[(r#"algorithm = "rsa-4096""#, r#"algorithm = "rsa-2048""#)],
    );
    let v = check_script(&reference_policy(), &loaded.script);
    assert_refused(
        &v,
        "keys[0].algorithm",
        "CPS 6.1.5",
        "rsa-2048 is not allowed",
    );
}

#[test]
fn validity_of_2921_and_9133_days_is_refused() {
    let policy = reference_policy();
    for days in ["2921", "9133"] {
        let loaded = script_after(
            "root-p384",
            &[("validity_days = 9131", &format!("validity_days = {days}"))],
        );
        let v = check_script(&policy, &loaded.script);
        assert_refused(
            &v,
            "certificates[0].validity_days",
            "CPS 6.3.2",
            &format!("validity of {days} days"),
        );
        assert_eq!(v.len(), 1, "{v:#?}");
    }
    for days in ["2922", "9132"] {
        let loaded = script_after(
            "root-p384",
            &[("validity_days = 9131", &format!("validity_days = {days}"))],
        );
        assert_eq!(check_script(&policy, &loaded.script), [], "{days}");
    }
}

#[test]
fn one_custodian_is_refused() {
    let loaded = script_after(
        "root-p384",
        &[(
            "[activation.so-pin]\ncustodians = [\"farid\", \"grace\", \"hana\"]",
            "[activation.so-pin]\ncustodians = [\"farid\"]",
        )],
    );
    let v = check_script(&reference_policy(), &loaded.script);
    assert_refused(
        &v,
        "activation.so-pin.custodians",
        "CPS 6.4.1",
        "split among 1 custodian",
    );
}

#[test]
fn one_custodian_holding_both_pins_is_refused() {
    let policy = reference_policy();
    assert_eq!(
        policy.pin_separation.map(|r| r.section),
        Some("CPS 5.2.4"),
        "the reference policy separates the PINs' custodians"
    );
    let loaded = script_after(
        "root-p384",
        &[(
            "[activation.so-pin]\ncustodians = [\"farid\", \"grace\", \"hana\"]",
            "[activation.so-pin]\ncustodians = [\"farid\", \"grace\", \"erin\"]",
        )],
    );
    let v = check_script(&policy, &loaded.script);
    assert_refused(
        &v,
        "activation.user-pin.custodians[2]",
        "CPS 5.2.4",
        "'erin' would hold shares of both the SO PIN and the user PIN",
    );
    assert_eq!(v.len(), 1, "{v:#?}");
}

#[test]
fn a_custodian_listed_twice_counts_once() {
    let loaded = script_after(
        "root-p384",
        &[(
            "[activation.user-pin]\ncustodians = [\"carol\", \"dave\", \"erin\"]",
            "[activation.user-pin]\ncustodians = [\"carol\", \"carol\"]",
        )],
    );
    let v = check_script(&reference_policy(), &loaded.script);
    assert_refused(
        &v,
        "activation.user-pin.custodians",
        "CPS 6.4.1",
        "split among 1 custodian",
    );
}

#[test]
fn threshold_of_one_person_is_refused() {
    let loaded = script_after(
        "root-rsa4096",
        &[(
            "[activation.user-pin]\ncustodians = [\"carol\", \"dave\", \"erin\"]\nthreshold = 2",
            "[activation.user-pin]\ncustodians = [\"carol\", \"dave\", \"erin\"]\nthreshold = 1",
        )],
    );
    let v = check_script(&reference_policy(), &loaded.script);
    assert_refused(
        &v,
        "activation.user-pin.threshold",
        "CPS 5.2.2",
        "threshold 1",
    );
}

#[test]
fn key_generation_without_a_qualified_auditor_witness_is_refused() {
    let loaded = script_after(
        "root-p384",
        &[(
            "witness = \"quinn\"\naction = { type = \"generate-key\"",
            "witness = \"lena\"\naction = { type = \"generate-key\"",
        )],
    );
    let step = step_path(&loaded, |a| matches!(a, Action::GenerateKey { .. }));
    let v = check_loaded_script(&reference_policy(), &loaded);
    assert_refused(
        &v,
        &format!("{step}.witness"),
        "CPS 6.1.1",
        "must be witnessed by a qualified-auditor",
    );
    // Located on the witness line of that step.
    let lines: Vec<&str> = loaded.text.lines().collect();
    let line = lines
        .windows(2)
        .position(|w| w[0] == "witness = \"lena\"" && w[1].contains("generate-key"))
        .map(|i| i + 1);
    let located = v.iter().find(|v| v.path == format!("{step}.witness"));
    assert_eq!(located.and_then(|v| v.location).map(|l| l.line), line);
}

#[test]
fn signing_without_a_qualified_auditor_witness_is_refused() {
    let loaded = script_after(
        "root-rsa4096",
        &[(
            "witness = \"quinn\"\naction = { type = \"self-sign\"",
            "witness = \"lena\"\naction = { type = \"self-sign\"",
        )],
    );
    let step = step_path(&loaded, |a| matches!(a, Action::SelfSign { .. }));
    let v = check_script(&reference_policy(), &loaded.script);
    assert_refused(&v, &format!("{step}.witness"), "CPS 6.1.1", "self-sign");
}

#[test]
fn combined_duties_are_refused() {
    let loaded = script_after(
        "root-p384",
        &[(
            r#"roles = ["qualified-auditor"]"#,
            r#"roles = ["qualified-auditor", "custodian"]"#,
        )],
    );
    let i = loaded
        .script
        .participants
        .iter()
        .position(|p| p.id == "quinn")
        .expect("quinn");
    let v = check_script(&reference_policy(), &loaded.script);
    assert_refused(
        &v,
        &format!("participants[{i}].roles"),
        "CPS 5.2.4",
        "operation and audit",
    );
    // Said once, at the person, not again at every step quinn witnesses.
    assert_eq!(v.len(), 1, "{v:#?}");
}

#[test]
fn a_witness_sharing_the_performers_duty_is_refused() {
    // ada (CA Administrator) performs, carol (custodian) witnesses: both operate.
    let loaded = script_after(
        "root-rsa4096",
        &[(
            "performer = \"ada\"\nwitness = \"quinn\"",
            "performer = \"ada\"\nwitness = \"carol\"",
        )],
    );
    let v = check_script(&reference_policy(), &loaded.script);
    assert!(
        v.iter().any(|v| v.path.ends_with(".witness")
            && v.rule == Some("CPS 5.2.4")
            && v.message.contains("shares the duty operation")),
        "{v:#?}"
    );

    let loaded = script_after(
        "root-rsa4096",
        &[(
            "performer = \"ada\"\nwitness = \"quinn\"",
            "performer = \"ada\"\nwitness = \"ada\"",
        )],
    );
    let v = check_script(&reference_policy(), &loaded.script);
    assert!(
        v.iter()
            .any(|v| v.rule == Some("CPS 5.2.4") && v.message.contains("performed and witnessed")),
        "{v:#?}"
    );
}

#[test]
fn a_stricter_policy_refuses_what_the_reference_allows() {
    let policy = policy_after(
        "ecc-only",
        &[
            ("name = \"reference-cps\"", "name = \"ecc-only\""),
            (
                "  { key = \"rsa-4096\", signature = \"sha384WithRSAEncryption\" },\n",
                "",
            ),
            ("section = \"CPS 6.1.5\"", "section = \"Example CPS 6.1.5\""),
            ("max_days = 9132", "max_days = 7305"),
            ("min_threshold = 2", "min_threshold = 3"),
        ],
    )
    .expect("stricter policy");
    let rsa = LoadedScript::load(&shipped_path("root-rsa4096")).expect("script");
    let v = check_script(&policy, &rsa.script);
    assert_refused(
        &v,
        "keys[0].algorithm",
        "Example CPS 6.1.5",
        "policy 'ecc-only'",
    );
    assert_refused(
        &v,
        "certificates[0].validity_days",
        "CPS 6.3.2",
        "2922 to 7305",
    );
    assert_refused(&v, "activation.so-pin.threshold", "CPS 5.2.2", "at least 3");
    let p384 = LoadedScript::load(&shipped_path("root-p384")).expect("script");
    assert!(
        !check_script(&policy, &p384.script)
            .iter()
            .any(|v| v.path == "keys[0].algorithm")
    );
}

fn invalid_policy(edits: &[(&str, &str)], words: &str) {
    match policy_after("reference-cps", edits) {
        Err(e @ PolicyError::InvalidPolicy { .. }) => {
            assert!(e.to_string().contains(words), "{e}")
        }
        other => panic!("expected an invalid policy with '{words}', got {other:?}"),
    }
}

#[test]
fn policies_looser_than_the_tool_or_malformed_are_refused() {
    invalid_policy(&[("min_days = 2922", "min_days = 365")], "2922 <= min_days");
    invalid_policy(
        &[("max_days = 9132", "max_days = 9133")],
        "max_days <= 9132",
    );
    invalid_policy(
        &[("min_threshold = 2", "min_threshold = 1")],
        "fewer than 2 persons",
    );
    invalid_policy(
        &[("min_custodians = 2", "min_custodians = 1")],
        "at least 2 people",
    );
    invalid_policy(
        &[(
            "signature = \"sha384WithRSAEncryption\"",
            "signature = \"sha256WithRSAEncryption\"",
        )],
        "signs with sha384WithRSAEncryption",
    );
    invalid_policy(
        &[("key = \"rsa-4096\"", "key = \"rsa-2048\"")],
        "rsa-2048 is not a root key",
    );
    invalid_policy(&[("section = \"CPS 6.1.1\"", "section = \"\"")], "cites");
    invalid_policy(
        &[(
            "roles = [\"service-operation-manager\"]",
            "roles = [\"custodian\"]",
        )],
        "two duties",
    );
    invalid_policy(
        &[("name = \"reference-cps\"", "name = \"other\"")],
        "must agree",
    );
    invalid_policy(
        &[("max_offset_seconds = 60", "max_offset_seconds = 0")],
        "allow at least 1 s",
    );
    // Unknown keys are errors with their line, as in scripts.
    match policy_after(
        "reference-cps",
        &[("min_days = 2922", "min_days = 2922\nmin_years = 8")],
    ) {
        Err(PolicyError::InvalidPolicy {
            location, message, ..
        }) => {
            assert!(message.contains("unknown field `min_years`"), "{message}");
            let text = std::fs::read_to_string(common::reference_policy_path()).expect("text");
            let line = text
                .lines()
                .position(|l| l == "min_days = 2922")
                .expect("line")
                + 2;
            assert_eq!(location.line, line);
        }
        other => panic!("expected a parse error, got {other:?}"),
    }
}

#[test]
fn two_subjects_of_one_script_are_compared_as_rfc_4518_prepares_them() {
    let loaded = script_after(
        "root-p384",
        &[(
            "[[acts]]\nid = \"1\"",
            "[[certificates]]\nkey = \"example-tls-ecc-root-2026\"\nvalidity_days = 9131\n\
             digital_signature = false\n\n[certificates.subject]\ncountry = \"JP\"\n\
             organization = \"EXAMPLE TRUST CO.,  LTD.\"\n\
             common_name = \"Example TLS ECC Root CA \u{ff12}\u{ff10}\u{ff12}\u{ff16}\"\n\n\
             [[acts]]\nid = \"1\"",
        )],
    );
    let v = check_script(&reference_policy(), &loaded.script);
    assert_refused(
        &v,
        "certificates[1].subject",
        "CPS 6.3.2",
        "matches that of certificates[0]",
    );
}

#[test]
fn a_later_ceremony_is_held_to_the_policys_tables() {
    let policy = reference_policy();
    let check = |name: &str, edits: &[(&str, &str)]| {
        check_loaded_script(&policy, &script_after(name, edits))
    };
    let v = check(
        "subordinate-p384",
        &[("validity_days = 1826", "validity_days = 8000")],
    );
    assert_refused(
        &v,
        "subordinates[0].validity_days",
        "CPS 6.3.2",
        "more than the 7305 days",
    );
    let v = check(
        "subordinate-p384",
        &[(
            "policies = [\"2.23.140.1.2.2\", ",
            "policies = [\"1.2.3.4\", \"2.23.140.1.2.2\", ",
        )],
    );
    assert_refused(
        &v,
        "subordinates[0].policies[0]",
        "BR 7.1.2.10.5",
        "exactly one CA/Browser Forum reserved identifier",
    );
    assert_refused(
        &v,
        "subordinates[0].policies[0]",
        "CPS 1.2",
        "neither a reserved identifier",
    );
    let v = check(
        "subordinate-p384",
        &[("crl_url = \"http://", "crl_url = \"ftp://")],
    );
    assert_refused(
        &v,
        "subordinates[0].crl_url",
        "BR 7.1.2.11.2",
        "is not an http:// URL",
    );
    let v = check(
        "crl-p384",
        &[("next_update_days = 180", "next_update_days = 400")],
    );
    assert_refused(
        &v,
        "crls[0].next_update_days",
        "BR 4.9.7",
        "more than the 365 days",
    );
    let v = check(
        "crl-p384",
        &[(
            "distribution_point = \"http://crl.example.com/example-tls-ecc-root-2026.crl\"\n",
            "distribution_point = \"http://crl.example.com/example-tls-ecc-root-2026.crl\"\n\n[[crls.revoked]]\nserial = \"01\"\nreason = \"unspecified\"\nrevoked_at = \"yesterday\"\n",
        )],
    );
    assert_refused(
        &v,
        "crls[0].revoked[0].reason",
        "BR 7.2.2",
        "not a reason a root CRL gives",
    );
    assert_refused(
        &v,
        "crls[0].revoked[0].revoked_at",
        "RFC 5280 5.1.2.6",
        "not an RFC 3339 time",
    );
}
