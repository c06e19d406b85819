//! A stop asked for by a signal while the checks ran or the room decided,
//! before the first step: the ceremony does not begin, and nothing is
//! written (no log that would only say it stopped). Real SoftHSM2, in a lab
//! of this test process's own.

use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;

use keyceremony_engine::{AnswersFile, Ceremony, EngineError, Settings, Stop};
use keyceremony_hsm::lab::{SoftHsmLab, create_witness_token};
use keyceremony_hsm::{Module, SecretString, default_module_path};
use keyceremony_policy::Policy;
use keyceremony_script::LoadedScript;

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

#[test]
fn a_signal_before_the_first_step_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    // The only test in this process, so no other thread reads the
    // environment while the lab sets SOFTHSM2_CONF.
    SoftHsmLab::create(&dir.path().join("lab"))
        .unwrap()
        .activate();
    let module_path = default_module_path()
        .expect("SoftHSM2 is not installed: run scripts/setup.sh (apt-get install softhsm2)");
    // The witness's own token, which the ceremony needs connected.
    create_witness_token(
        &Module::load(&module_path).unwrap(),
        "Quinn Adeyemi (auditor)",
        "quinn-adeyemi-seal",
        &SecretString::from("witness-so-1234"),
        &SecretString::from("witness-user-1234"),
    )
    .unwrap();
    let script = LoadedScript::load(&repo().join("ceremony-scripts/root-p384.toml")).unwrap();
    let policy = Policy::load(&repo().join("ceremony-scripts/policy/reference-cps.toml")).unwrap();
    let out = dir.path().join("out");
    std::fs::create_dir(dir.path().join("backup")).unwrap();
    let stop = Stop::default();
    let settings = Settings {
        module: module_path,
        out_dir: out.clone(),
        rehearsal: true,
        lab: None,
        backup: Some(dir.path().join("backup")),
        policy,
        inventory: dir.path().join("inventory.jsonl"),
        inputs: dir.path().to_path_buf(),
        stop: stop.clone(),
    };
    let mut answers =
        AnswersFile::load(&repo().join("ceremony-scripts/rehearsal/root-p384.answers.toml"))
            .unwrap();
    let ceremony = Ceremony::prepare(script, settings, &mut answers).unwrap();

    // What the CLI's SIGINT handler stores.
    stop.cell().store(2, Ordering::SeqCst);
    let error = ceremony.run(&mut answers).unwrap_err();
    assert!(
        matches!(&error, EngineError::InterruptedBeforeStart { signal } if signal == "SIGINT"),
        "{error:?}"
    );
    assert!(error.to_string().contains("nothing was written"), "{error}");
    assert!(!out.exists(), "the output folder was created");
}
