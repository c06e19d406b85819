//! A rehearsal runs on its own lab's tokens only, and a production
//! ceremony on no lab's. Real SoftHSM2, in labs of this test process's own;
//! nothing is written, since each run is refused or only prepared.

use std::path::{Path, PathBuf};

use keyceremony_engine::rehearsal::Shown;
use keyceremony_engine::{AnswersFile, Ceremony, Settings};
use keyceremony_hsm::lab::{SoftHsmLab, create_witness_token};
use keyceremony_hsm::{Module, SecretString, default_module_path};
use keyceremony_policy::Policy;
use keyceremony_script::LoadedScript;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn a_rehearsal_runs_on_its_own_lab_only_and_production_on_none() {
    let dir = tempfile::tempdir().unwrap();
    // The only test in this process, so no other thread reads the
    // environment while the lab sets SOFTHSM2_CONF.
    let ours = SoftHsmLab::create(&dir.path().join("ours")).unwrap();
    ours.activate();
    let other = SoftHsmLab::create(&dir.path().join("other")).unwrap();
    let module = default_module_path()
        .expect("SoftHSM2 is not installed: run scripts/setup.sh (apt-get install softhsm2)");
    create_witness_token(
        &Module::load(&module).unwrap(),
        "Quinn Adeyemi (auditor)",
        "quinn-adeyemi-seal",
        &SecretString::from("witness-so-1234"),
        &SecretString::from("witness-user-1234"),
    )
    .unwrap();
    let path = repo().join("ceremony-scripts/root-p384.toml");
    let text = std::fs::read_to_string(&path).unwrap();
    let policy = Policy::load(&repo().join("ceremony-scripts/policy/reference-cps.toml")).unwrap();
    std::fs::create_dir(dir.path().join("backup")).unwrap();
    let settings = |lab: Option<&Path>| Settings {
        module: module.clone(),
        out_dir: dir.path().join("out"),
        rehearsal: false,
        lab: lab.map(Path::to_path_buf),
        backup: Some(dir.path().join("backup")),
        policy: policy.clone(),
        inventory: dir.path().join("inventory.jsonl"),
        inputs: dir.path().to_path_buf(),
        stop: Default::default(),
    };
    let answers = || {
        AnswersFile::load(&repo().join("ceremony-scripts/rehearsal/root-p384.answers.toml"))
            .unwrap()
    };
    let script = |text: String| LoadedScript::parse(&path, text).unwrap();

    // Made for another lab, the rehearsal refuses this one's tokens.
    let refused = Ceremony::prepare(
        script(text.clone()),
        settings(Some(&other.dir)),
        &mut answers(),
    )
    .err()
    .expect("another lab's tokens are refused");
    let message = refused.to_string();
    assert!(
        message.contains(&format!("its own lab {}", other.dir.display()))
            && message.contains(&ours.dir.display().to_string()),
        "{message}"
    );

    // On its own lab's, it is prepared, and says how it meets each rule.
    // The witness's own device is a module of their own: a rehearsal stands
    // in for it with the lab's token, and says so.
    let witness_device = text.replacen(
        "witness_key = \"quinn-adeyemi-seal\"\n",
        "witness_key = \"quinn-adeyemi-seal\"\nwitness_module = \"/usr/lib/vendor/libwitness.so\"\n",
        1,
    );
    assert_ne!(witness_device, text);
    let ceremony = Ceremony::prepare(
        script(witness_device),
        settings(Some(&ours.dir)),
        &mut answers(),
    )
    .unwrap();
    let rehearsal = ceremony.rehearsal().expect("a rehearsal");
    assert_eq!(rehearsal.lab.as_deref(), Some(ours.dir.as_path()));
    assert!(ceremony.settings().rehearsal);
    let witness = rehearsal
        .rules
        .iter()
        .find(|r| r.rule == "the witness's own token")
        .unwrap();
    assert_eq!(witness.shown, Shown::StandIn);
    assert!(
        witness
            .rehearsal
            .contains("instead of the script's witness_module /usr/lib/vendor/libwitness.so"),
        "{witness:?}"
    );
    drop(ceremony);

    // The production script, only its mode changed, refuses the lab at once:
    // before the answers file is even considered.
    let production = text.replacen("mode = \"rehearsal\"", "mode = \"production\"", 1);
    let refused = Ceremony::prepare(script(production), settings(None), &mut answers())
        .err()
        .expect("a production ceremony refuses a lab");
    let message = refused.to_string();
    assert!(
        message.contains("is a production ceremony")
            && message.contains(&format!("rehearsal lab {}", ours.dir.display())),
        "{message}"
    );

    // Nor may the witness's token be a lab's, on a module of its own: the
    // ceremony's module here is one no lab knows, as a real HSM's.
    let vendor = dir.path().join("libvendor-hsm.so");
    std::fs::copy(&module, &vendor).unwrap();
    let production = text
        .replacen("mode = \"rehearsal\"", "mode = \"production\"", 1)
        .replacen(
            "witness_key = \"quinn-adeyemi-seal\"\n",
            &format!(
                "witness_key = \"quinn-adeyemi-seal\"\nwitness_module = {:?}\n",
                module.display().to_string()
            ),
            1,
        );
    let on_vendor = Settings {
        module: vendor,
        ..settings(None)
    };
    let refused = Ceremony::prepare(script(production), on_vendor, &mut answers())
        .err()
        .expect("a production ceremony refuses a lab's witness token");
    let message = refused.to_string();
    assert!(
        message.contains("the witness's module's tokens in the rehearsal lab"),
        "{message}"
    );
    assert!(!dir.path().join("out").exists(), "something was written");
}
