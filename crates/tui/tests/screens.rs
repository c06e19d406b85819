//! Every screen at 80x24, drawn with ratatui's TestBackend: `update` is
//! driven with the engine's prompts and notices and with key events, and the
//! drawn text is checked for what matters to the room. The captures in
//! docs/operator-guide.md come from these renders (see
//! `operator_guide_captures_match_the_screens`).

use std::path::Path;

use chrono::{DateTime, Utc};
use crossterm::event::{KeyCode, KeyEvent, KeyModifiers};
use keyceremony_engine::resume::Standing;
use keyceremony_engine::{
    Attendance, Change, Decision, EngineError, Imminent, InputError, Missing, Notice, Raised,
    Verdict,
};
use keyceremony_script::{LoadedScript, Participant, Script, Secret, Step};
use keyceremony_shares::{SecretKind, Share, Zeroizing, split};
use keyceremony_tui::{
    Answer, App, Checked, Event, Finished, Prompt, Reply, StartInfo, explain, update, view,
};
use ratatui::Terminal;
use ratatui::backend::TestBackend;
use ratatui::style::Modifier;
use secrecy::ExposeSecret;

const SCRIPT_SHA: &str = "3a7bd3e2360a3d29eea436fcfb7e44c735d117c42d1c1835420b6b9942dd4f1b";
const BINARY_SHA: &str = "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08";
const KEY_SHA: &str = "E3B0C44298FC1C149AFBF4C8996FB92427AE41E4649B934CA495991B7852B855";
const CERT_SHA: &str = "2C26B46B68FFC68FF99B453C1D30413413422D706483BFA0F98A5E886266E7AE";
const HEAD: &str = "fcde2b2edba56bf408601fb721fe9b5c338d10ee429ea04fae5511b68fbf8fb9";

fn shipped() -> Script {
    LoadedScript::read(
        &Path::new(env!("CARGO_MANIFEST_DIR")).join("../../ceremony-scripts/root-rsa4096.toml"),
    )
    .expect("the shipped RSA script")
    .script
}

fn at(text: &str) -> DateTime<Utc> {
    DateTime::parse_from_rfc3339(text)
        .expect("RFC 3339")
        .with_timezone(&Utc)
}

fn info(rehearsal: bool) -> StartInfo {
    StartInfo {
        ceremony_name: "Example TLS RSA Root CA 2026 key generation ceremony".to_string(),
        ceremony_id: "example-tls-rsa-root-2026".to_string(),
        rehearsal,
        script_path: "ceremony-scripts/root-rsa4096.toml".to_string(),
        script_sha256: SCRIPT_SHA.to_string(),
        tool_version: "0.1.0".to_string(),
        out_dir: "/media/ceremony/out".to_string(),
        checked: None,
    }
}

fn checked() -> Checked {
    Checked {
        binary_sha256: BINARY_SHA.to_string(),
        module: "/usr/lib/softhsm/libsofthsm2.so (SoftHSM Implementation of SoftHSM, library 2.6)"
            .to_string(),
        token: vec![
            (
                "token label".to_string(),
                "Example TLS RSA Root 2026 (to be initialised now)".to_string(),
            ),
            (
                "token".to_string(),
                "slot 0, serial 0000000000000000, SoftHSM project SoftHSM v2".to_string(),
            ),
        ],
    }
}

/// A fresh app on the start screen, checks passed.
fn app(rehearsal: bool) -> App {
    let mut app = App::new(info(rehearsal), &shipped(), at("2026-11-25T10:00:00Z"));
    update(&mut app, Event::Ready(checked()));
    app
}

/// An app with the ceremony begun.
fn running() -> App {
    let mut app = app(true);
    assert!(press(&mut app, KeyCode::Enter).is_none());
    assert!(app.take_begin());
    app
}

fn script_step(id: &str) -> Step {
    shipped()
        .steps()
        .find(|(_, s)| s.id == id)
        .map(|(_, s)| s.clone())
        .expect("step in the shipped script")
}

fn person(id: &str) -> Participant {
    shipped().participant(id).cloned().expect("participant")
}

fn begin_step(app: &mut App, id: &str) {
    begin(app, &script_step(id));
}

fn begin(app: &mut App, step: &Step) {
    update(
        app,
        Event::Notice(Notice::StepBegin {
            act: String::new(),
            step: step.id.clone(),
            title: step.title.clone(),
            performer: step.performer.clone(),
            witness: step.witness.clone(),
        }),
    );
}

fn prompt(app: &mut App, prompt: Prompt) -> Option<Reply> {
    update(app, Event::Prompt(Box::new(prompt)))
}

fn notice(app: &mut App, notice: Notice) {
    assert!(update(app, Event::Notice(notice)).is_none());
}

fn key(app: &mut App, code: KeyCode, modifiers: KeyModifiers) -> Option<Reply> {
    update(app, Event::Key(KeyEvent::new(code, modifiers)))
}

fn press(app: &mut App, code: KeyCode) -> Option<Reply> {
    key(app, code, KeyModifiers::NONE)
}

/// Types `text`; no answer may come from typing alone.
fn type_text(app: &mut App, text: &str) {
    for c in text.chars() {
        assert!(
            press(app, KeyCode::Char(c)).is_none(),
            "typing '{c}' answered"
        );
    }
}

/// The app drawn at 80x24, one string per row, trailing spaces trimmed.
fn render(app: &App) -> Vec<String> {
    render_buffer(app).0
}

fn render_buffer(app: &App) -> (Vec<String>, ratatui::buffer::Buffer) {
    render_sized(app, 80, 24)
}

/// The app drawn in a terminal `width` x `height`.
fn render_sized(app: &App, width: u16, height: u16) -> (Vec<String>, ratatui::buffer::Buffer) {
    let mut terminal = Terminal::new(TestBackend::new(width, height)).expect("test terminal");
    terminal.draw(|frame| view(app, frame)).expect("draw");
    let buffer = terminal.backend().buffer().clone();
    let lines = (0..buffer.area.height)
        .map(|y| {
            (0..buffer.area.width)
                .map(|x| buffer[(x, y)].symbol())
                .collect::<String>()
                .trim_end()
                .to_string()
        })
        .collect();
    (lines, buffer)
}

fn screen(app: &App) -> String {
    render(app).join("\n")
}

fn assert_shows(app: &App, expected: &[&str]) {
    let text = screen(app);
    for want in expected {
        assert!(
            text.contains(want),
            "'{want}' is not on the screen:\n{text}"
        );
    }
}

/// The last screen of a run that stopped, its log standing as `standing`.
fn stopped_with(error: &EngineError, standing: Standing) -> Finished {
    Finished::Stopped(keyceremony_tui::Explained {
        standing: Some(standing),
        ..explain(error)
    })
}

fn answer(reply: Option<Reply>) -> Answer {
    match reply {
        Some(Ok(answer)) => answer,
        Some(Err(e)) => panic!("expected an answer, got the error {e}"),
        None => panic!("expected an answer, got none"),
    }
}

#[test]
fn start_screen_shows_hashes_token_and_the_rehearsal_banner() {
    let mut app = App::new(info(true), &shipped(), at("2026-11-25T10:00:00Z"));
    assert_shows(&app, &["REHEARSAL", "checking the output folder"]);
    // Enter does nothing until the engine's checks have passed.
    assert!(press(&mut app, KeyCode::Enter).is_none());
    assert!(!app.take_begin());
    update(&mut app, Event::Ready(checked()));
    assert_shows(
        &app,
        &[
            "*** REHEARSAL: NOT A PRODUCTION CEREMONY ***",
            "Example TLS RSA Root CA 2026 key generation ceremony",
            "3A7B D3E2 360A 3D29 EEA4 36FC FB7E 44C7",
            "35D1 17C4 2D1C 1835 420B 6B99 42DD 4F1B",
            "keyceremony 0.1.0",
            "9F86 D081 884C 7D65 9A2F EAA0 C55A D015",
            "serial 0000000000000000",
            "/media/ceremony/out",
            "Enter",
            "begin the ceremony",
        ],
    );
    press(&mut app, KeyCode::Enter);
    assert!(app.take_begin());
    assert!(!app.take_begin(), "begin is reported once");
}

#[test]
fn a_production_start_screen_has_no_rehearsal_banner() {
    let app = app(false);
    let text = screen(&app);
    assert!(text.contains("PRODUCTION CEREMONY"));
    assert!(!text.contains("REHEARSAL"), "{text}");
}

#[test]
fn leaving_from_the_start_screen_asks_first() {
    let mut app = app(true);
    press(&mut app, KeyCode::F(10));
    assert_shows(
        &app,
        &["Leave without starting", "Nothing has been written"],
    );
    press(&mut app, KeyCode::Char('n'));
    assert!(!app.exit());
    key(&mut app, KeyCode::Char('a'), KeyModifiers::CONTROL);
    press(&mut app, KeyCode::Char('y'));
    assert!(app.exit());
    assert!(!app.take_begin());
}

#[test]
fn step_view_shows_the_steps_the_people_and_what_enter_does() {
    let mut app = running();
    begin_step(&mut app, "1.1");
    assert!(
        prompt(
            &mut app,
            Prompt::Exceptions {
                step: script_step("1.1"),
                witness: person("quinn")
            }
        )
        .is_none()
    );
    assert_shows(
        &app,
        &[
            "[>] 1.1 Open the ceremo",
            "[ ] 1.2 Check in every",
            "[ ] 5.4 Seal the ceremon",
            "Step 1.1  Open the ceremony",
            "Performer  Samuel Ito (Service Operation Manager)",
            "Witness    Quinn Adeyemi (Qualified Auditor)",
            "State the ceremony name",
            "Enter",
            "Quinn Adeyemi confirms step 1.1",
            "step 1.1",
            "10:00:00 UTC",
        ],
    );
    // The current step is marked without colour: bold and reversed.
    let (lines, buffer) = render_buffer(&app);
    let row = lines
        .iter()
        .position(|l| l.contains("[>] 1.1"))
        .expect("current step row");
    let style = buffer[(1, row as u16)].style();
    assert!(
        style
            .add_modifier
            .contains(Modifier::REVERSED | Modifier::BOLD)
    );

    // Enter asks the witness to confirm; Y confirms.
    assert!(press(&mut app, KeyCode::Enter).is_none());
    assert_shows(
        &app,
        &[
            "Quinn Adeyemi: confirm that step 1.1 was performed as",
            "Y  confirm",
        ],
    );
    // A second Enter is not a confirmation.
    assert!(press(&mut app, KeyCode::Enter).is_none());
    let Answer::Exceptions(exceptions) = answer(press(&mut app, KeyCode::Char('y'))) else {
        panic!("expected the step's exceptions");
    };
    assert!(exceptions.is_empty());
    // The verdict was given with the exceptions: the engine's next question
    // is answered without asking again.
    let reply = prompt(
        &mut app,
        Prompt::Witness {
            step: script_step("1.1"),
            witness: person("quinn"),
        },
    );
    assert!(matches!(answer(reply), Answer::Verdict(Verdict::Confirmed)));

    begin_step(&mut app, "1.2");
    begin_step(&mut app, "1.3");
    assert_shows(&app, &["[x] 1.1", "[x] 1.2", "[>] 1.3"]);
}

#[test]
fn an_exception_is_recorded_before_the_witness_confirms() {
    let mut app = running();
    begin_step(&mut app, "1.3");
    prompt(
        &mut app,
        Prompt::Exceptions {
            step: script_step("1.3"),
            witness: person("lena"),
        },
    );
    press(&mut app, KeyCode::Char('e'));
    assert_shows(
        &app,
        &["Exception in step 1.3", "What deviated from the script:"],
    );
    type_text(&mut app, "camera 2 was not recording for 3 minutes");
    press(&mut app, KeyCode::Enter);
    assert_shows(&app, &["Does Lena Fischer accept it?"]);
    press(&mut app, KeyCode::Char('y'));
    type_text(&mut app, "camera 1 covered the room");
    press(&mut app, KeyCode::Enter);
    assert_shows(
        &app,
        &[
            "Exception 1 (to record): camera 2 was not recording",
            "for 3 minutes [accepted] camera 1 covered the room",
        ],
    );
    press(&mut app, KeyCode::Enter);
    let Answer::Exceptions(exceptions) = answer(press(&mut app, KeyCode::Char('Y'))) else {
        panic!("expected the step's exceptions");
    };
    assert_eq!(exceptions.len(), 1);
    assert!(exceptions[0].accepted);
    assert_eq!(exceptions[0].remark, "camera 1 covered the room");
    notice(
        &mut app,
        Notice::Exception {
            number: 1,
            description: "camera 2 was not recording for 3 minutes".to_string(),
        },
    );
    assert_shows(&app, &["Exception 1 recorded: camera 2"]);
}

#[test]
fn the_witness_refuses_a_step_with_a_remark() {
    let mut app = running();
    begin_step(&mut app, "1.3");
    prompt(
        &mut app,
        Prompt::Exceptions {
            step: script_step("1.3"),
            witness: person("lena"),
        },
    );
    press(&mut app, KeyCode::Char('r'));
    // A refusal needs a remark.
    press(&mut app, KeyCode::Enter);
    assert!(!screen(&app).contains("Refusing stops the ceremony"));
    type_text(&mut app, "a phone is in the room");
    press(&mut app, KeyCode::Enter);
    assert_shows(&app, &["Refusing stops the ceremony"]);
    let Answer::Exceptions(none) = answer(press(&mut app, KeyCode::Char('y'))) else {
        panic!("expected the step's exceptions");
    };
    assert!(none.is_empty());
    let reply = prompt(
        &mut app,
        Prompt::Witness {
            step: script_step("1.3"),
            witness: person("lena"),
        },
    );
    assert!(matches!(
        answer(reply),
        Answer::Verdict(Verdict::Refused { remark }) if remark == "a phone is in the room"
    ));
}

/// The engine asks `checker` to check `id` in at step 1.2.
fn check_in(app: &mut App, id: &str, checker: &str, identified: bool) {
    prompt(
        app,
        Prompt::CheckIn {
            step: script_step("1.2"),
            participant: person(id),
            witness: person(checker),
            identified,
        },
    );
}

#[test]
fn check_in_shows_each_participant_and_role_and_takes_the_document() {
    let mut app = running();
    begin_step(&mut app, "1.2");
    check_in(&mut app, "ada", "quinn", false);
    type_text(&mut app, "passport");
    let Answer::Attendance(Attendance::Identified(identity)) =
        answer(press(&mut app, KeyCode::Enter))
    else {
        panic!("expected an identity");
    };
    assert_eq!(identity.document, "passport");
    check_in(&mut app, "sam", "quinn", false);
    type_text(&mut app, "passport, compared with the roster");
    answer(press(&mut app, KeyCode::Enter));
    check_in(&mut app, "carol", "quinn", false);
    assert_shows(
        &app,
        &[
            "Step 1.2  Check in every participant",
            "[x] Ada Okafor",
            "CA Administrator",
            "passport",
            "[x] Samuel Ito",
            "passport, compared with the r",
            "[>] Carol Nakamura",
            "[ ] David Mensah",
            "Now: Carol Nakamura (Custodian of activation data) (3 of 10)",
            "Quinn Adeyemi confirms Carol Nakamura's identity",
        ],
    );
}

#[test]
fn a_participant_is_recorded_absent_with_the_reason_and_the_witness_is_checked_by_the_log_examiner()
{
    let mut app = running();
    begin_step(&mut app, "1.2");
    check_in(&mut app, "erin", "quinn", false);
    // Enter on an empty field records an absence, with its reason.
    assert!(press(&mut app, KeyCode::Enter).is_none());
    assert_shows(
        &app,
        &["Erin Kowalski is absent. Quinn Adeyemi records why:"],
    );
    assert!(
        press(&mut app, KeyCode::Enter).is_none(),
        "a reason is needed"
    );
    type_text(&mut app, "ill at home");
    assert!(matches!(
        answer(press(&mut app, KeyCode::Enter)),
        Answer::Attendance(a) if a == Attendance::Absent {
            reason: "ill at home".to_string()
        }
    ));
    // The witness is checked by the log examiner.
    check_in(&mut app, "quinn", "lena", false);
    assert_shows(
        &app,
        &[
            "[x] Erin Kowalski",
            "absent: ill at home",
            "Now: Quinn Adeyemi",
            "Lena Fischer compares Quinn Adeyemi's photo identity document",
        ],
    );
}

#[test]
fn a_resumes_check_in_asks_only_who_is_there() {
    let mut app = running();
    begin_step(&mut app, "2.2");
    check_in(&mut app, "ada", "quinn", true);
    assert_shows(
        &app,
        &[
            "Ada Okafor was identified earlier in this ceremony",
            "Y in the room  N absent",
        ],
    );
    assert!(!screen(&app).contains("Kind of document"));
    assert!(matches!(
        answer(press(&mut app, KeyCode::Char('y'))),
        Answer::Attendance(a) if a == Attendance::InRoom
    ));
    check_in(&mut app, "sam", "quinn", true);
    press(&mut app, KeyCode::Char('n'));
    type_text(&mut app, "stayed at the office");
    assert!(matches!(
        answer(press(&mut app, KeyCode::Enter)),
        Answer::Attendance(a) if a == Attendance::Absent {
            reason: "stayed at the office".to_string()
        }
    ));
}

/// An app past its check-in, everyone in the room.
fn everyone_in(app: &mut App) {
    begin_step(app, "1.2");
    let ids: Vec<String> = shipped()
        .participants
        .iter()
        .map(|p| p.id.clone())
        .collect();
    for id in ids {
        let checker = if id == "quinn" { "lena" } else { "quinn" };
        check_in(app, &id, checker, false);
        type_text(app, "passport");
        answer(press(app, KeyCode::Enter));
    }
}

#[test]
fn f6_records_who_leaves_and_comes_back_and_a_step_waits_for_whom_it_needs() {
    let mut app = running();
    everyone_in(&mut app);
    begin_step(&mut app, "1.3");
    press(&mut app, KeyCode::F(6));
    assert_shows(&app, &["Who is in the room", "> Ada Okafor", "in the room"]);
    for _ in 0..8 {
        press(&mut app, KeyCode::Down);
    }
    press(&mut app, KeyCode::Char('l'));
    type_text(&mut app, "phone call");
    press(&mut app, KeyCode::Enter);
    assert_shows(&app, &["Lena Fischer leaves at", "phone call", "OUT"]);
    press(&mut app, KeyCode::Enter);
    assert!(app.overlay.is_none());
    // The engine asks as the next step begins: the change is the answer.
    let Some(Ok(Answer::Presence(changes))) = prompt(
        &mut app,
        Prompt::Presence {
            step: script_step("1.4"),
            missing: Vec::new(),
        },
    ) else {
        panic!("answered at once");
    };
    assert_eq!(changes.len(), 1);
    assert_eq!(changes[0].participant, "lena");
    assert!(matches!(&changes[0].change, Change::Leaves { reason } if reason == "phone call"));
    // Step 1.3's witness is out: the step waits until she is back.
    let missing = Missing {
        participant: person("lena"),
        needed_as: "the witness of step 1.3".to_string(),
        whereabouts: "left at 10:00:00: phone call".to_string(),
        identified: true,
    };
    assert!(
        prompt(
            &mut app,
            Prompt::Presence {
                step: script_step("1.3"),
                missing: vec![missing],
            },
        )
        .is_none()
    );
    assert_shows(
        &app,
        &[
            "THIS STEP WAITS FOR:",
            "Lena Fischer, the witness of step 1.3 (left at 10:00:00: phone call)",
            "> Lena Fischer",
        ],
    );
    press(&mut app, KeyCode::Char('r'));
    let Answer::Presence(back) = answer(press(&mut app, KeyCode::Enter)) else {
        panic!("not the presence");
    };
    assert!(matches!(
        &back[0].change,
        Change::Returns { document: None }
    ));
}

#[test]
fn a_recorded_value_is_echoed_and_recorded_on_enter() {
    let mut app = running();
    begin_step(&mut app, "1.5");
    let step = script_step("1.5");
    prompt(
        &mut app,
        Prompt::Record {
            field: step.record[0].clone(),
            step,
            refused: None,
        },
    );
    type_text(&mut app, "TEB-0001");
    assert_shows(
        &app,
        &[
            "Serial of the HSM's tamper-evident bag:",
            "> TEB-0001_",
            "record this value in the log",
        ],
    );
    assert!(matches!(answer(press(&mut app, KeyCode::Enter)), Answer::Text(t) if t == "TEB-0001"));
}

#[test]
fn the_clock_check_takes_the_terminal_time_at_the_witness_mark() {
    let mut app = running();
    begin_step(&mut app, "1.4");
    update(&mut app, Event::Tick(at("2026-11-25T10:00:05Z")));
    prompt(
        &mut app,
        Prompt::ReferenceTime {
            step: script_step("1.4"),
            witness: person("quinn"),
        },
    );
    assert_shows(
        &app,
        &[
            "Terminal time now: 2026-11-25 10:00:05 UTC",
            "type the time the reference clock will",
            "then press Enter at the moment it shows it:",
        ],
    );
    type_text(&mut app, "ten past");
    assert!(press(&mut app, KeyCode::Enter).is_none());
    assert_shows(&app, &["is not a time"]);
    key(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    type_text(&mut app, "2026-11-25T10:00:03Z");
    let before = Utc::now();
    let Answer::Clock(reading) = answer(press(&mut app, KeyCode::Enter)) else {
        panic!("not a clock reading");
    };
    assert_eq!(reading.reference, at("2026-11-25T10:00:03Z"));
    assert!(
        reading.system >= before && reading.system <= Utc::now(),
        "the terminal's time is taken at the Enter key"
    );
    notice(
        &mut app,
        Notice::ClockChecked {
            difference_ms: 2000,
            limit_ms: Some(60_000),
        },
    );
    assert_shows(&app, &["Clock: terminal minus reference +2.000 s"]);
    assert!(!screen(&app).contains("the policy allows (CPS 5.5.5)"));
}

#[test]
fn an_exception_the_tool_raises_is_decided_by_the_witness_with_a_remark() {
    let mut app = running();
    begin_step(&mut app, "1.4");
    notice(
        &mut app,
        Notice::ClockChecked {
            difference_ms: 128_400,
            limit_ms: Some(60_000),
        },
    );
    let raised = Raised {
        subject: "clock".to_string(),
        description: "the terminal's clock is +128.400 s off the reference clock, beyond the 60 s that policy 'reference-cps' allows (CPS 5.5.5)".to_string(),
    };
    prompt(
        &mut app,
        Prompt::Decide {
            step: script_step("1.4"),
            witness: person("quinn"),
            raised: raised.clone(),
        },
    );
    assert_shows(
        &app,
        &[
            "Beyond the 60 s the policy allows (CPS 5.5.5)",
            "EXCEPTION raised by the tool:",
            "+128.400 s off the reference",
            "Quinn Adeyemi: accept it as an exception",
            "Y accept  N do not accept",
        ],
    );
    // Enter is not a decision.
    assert!(press(&mut app, KeyCode::Enter).is_none());
    press(&mut app, KeyCode::Char('n'));
    assert_shows(&app, &["NOT accepted. Remark (why):"]);
    // Not accepting needs a remark.
    assert!(press(&mut app, KeyCode::Enter).is_none());
    type_text(&mut app, "the clock must be set first");
    let Answer::Decision(decision) = answer(press(&mut app, KeyCode::Enter)) else {
        panic!("not a decision");
    };
    assert_eq!(
        decision,
        Decision {
            accepted: false,
            remark: "the clock must be set first".to_string()
        }
    );
}

fn share_of(kind: SecretKind, number: usize) -> Share {
    let secret = Zeroizing::new([7u8; 20]);
    let mut made = split(kind, "example-tls-rsa-root-2026", &secret, 2, 3, [9; 32]).expect("split");
    made.shares.swap_remove(number - 1)
}

/// The engine asks to show Carol her SO-PIN share 1 of 3.
fn show_carol(app: &mut App, share: &Share) -> Option<Reply> {
    prompt(
        app,
        Prompt::ShowShare {
            step: script_step("2.1"),
            custodian: person("carol"),
            kind: SecretKind::SoPin,
            number: 1,
            count: 3,
            lines: share.display_lines(),
        },
    )
}

#[test]
fn a_screen_that_does_not_fit_asks_for_a_larger_terminal_and_takes_no_key() {
    let mut app = running();
    begin_step(&mut app, "2.1");
    let share = share_of(SecretKind::SoPin, 1);
    show_carol(&mut app, &share);
    press(&mut app, KeyCode::Enter);
    let group = share
        .display_lines()
        .expose_secret()
        .lines()
        .nth(1)
        .unwrap()[..9]
        .to_string();
    assert_shows(&app, &[group.as_str()]);
    // At 80x8 half the share would show while Y is offered: a notice
    // instead, and Y does nothing.
    let small = render_sized(&app, 80, 8).0.join("\n");
    assert!(small.contains("MAKE THE TERMINAL LARGER"), "{small}");
    assert!(!small.contains(group.as_str()), "{small}");
    assert!(press(&mut app, KeyCode::Char('y')).is_none());
    // Large enough again: the share as it was, and Y takes it off.
    assert_shows(&app, &[group.as_str(), "I have copied it"]);
    assert!(matches!(
        answer(press(&mut app, KeyCode::Char('y'))),
        Answer::ShareShown
    ));
}

#[test]
fn the_step_list_reads_whole_at_120_columns_and_gives_way_at_80_when_needed() {
    let mut app = running();
    begin_step(&mut app, "1.5");
    let wide = render_sized(&app, 120, 40).0.join("\n");
    assert!(
        wide.contains("[ ] 1.6 Boot the air-gapped terminal from the ceremony media"),
        "{wide}"
    );
    assert!(wide.contains("step 1.5 (5 of 16)"), "{wide}");
    // A fingerprint at 80 columns: the list gives way, the step view whole.
    begin_step(&mut app, "3.1");
    notice(&mut app, key_generated(true));
    prompt(
        &mut app,
        Prompt::Exceptions {
            step: script_step("3.1"),
            witness: person("quinn"),
        },
    );
    assert_shows(
        &app,
        &[
            "taken up: generated before the interruption",
            "CKA_ALWAYS_AUTHENTICATE=true",
            "Enter  Quinn Adeyemi confirms step 3.1",
        ],
    );
    assert!(!screen(&app).contains("[x] 1.1"), "{}", screen(&app));
}

#[test]
fn a_share_is_shown_between_look_away_screens_typed_back_and_then_wiped() {
    let mut app = running();
    begin_step(&mut app, "2.1");
    let share = share_of(SecretKind::SoPin, 1);
    let text = share.to_text();
    let groups: Vec<&str> = text.expose_secret().split('-').skip(7).collect();
    let show = |app: &mut App| show_carol(app, &share);
    show(&mut app);
    assert!(
        app.take_clear(),
        "the screen is cleared before the share screen"
    );
    let no_share = |app: &App| {
        let text = screen(app);
        for group in &groups {
            assert!(
                !text.contains(group),
                "share group {group} on screen:\n{text}"
            );
        }
    };
    assert_shows(
        &app,
        &[
            "SHARE FOR CAROL NAKAMURA ONLY",
            "Everyone except Carol Nakamura: look away",
            "share 1 of 3 of the SO PIN",
        ],
    );
    no_share(&app);
    // Only Y confirms the copy: a stray Enter does not take the share away.
    press(&mut app, KeyCode::Enter);
    assert!(app.take_clear());
    assert!(press(&mut app, KeyCode::Enter).is_none());
    let shown = screen(&app);
    for group in &groups {
        assert!(shown.contains(group), "group {group} missing:\n{shown}");
    }
    assert!(
        !shown.contains("[ ] 1.1"),
        "the share screen shows nothing else"
    );
    assert!(matches!(
        answer(press(&mut app, KeyCode::Char('y'))),
        Answer::ShareShown
    ));
    assert!(app.take_clear(), "the screen is cleared after the share");

    // The custodian types it back from the paper, unseen.
    let copy_back = |app: &mut App| {
        prompt(
            app,
            Prompt::CopyBack {
                step: script_step("2.1"),
                custodian: person("carol"),
                secret: Secret::SoPin,
                number: 1,
            },
        )
    };
    copy_back(&mut app);
    assert_shows(
        &app,
        &[
            "SHARE FOR CAROL NAKAMURA ONLY",
            "Carol Nakamura: type back share 1 of the SO PIN from your paper form",
            "keep looking away",
            "[>] header",
        ],
    );
    no_share(&app);
    let lines: Vec<String> = share
        .display_lines()
        .expose_secret()
        .lines()
        .skip(1)
        .take(4)
        .map(|l| {
            l.split("  ")
                .map(str::trim)
                .find(|p| !p.is_empty())
                .unwrap()
                .to_string()
        })
        .collect();
    let mut reply = None;
    for (i, line) in lines.iter().enumerate() {
        type_text(&mut app, line);
        no_share(&app);
        if i == 3 {
            assert_shows(&app, &["submit the copy: the tool compares it"]);
        }
        reply = press(&mut app, KeyCode::Enter);
    }
    let Answer::Secret(typed) = answer(reply) else {
        panic!("not the copy");
    };
    assert_eq!(
        Share::parse(typed.expose_secret())
            .unwrap()
            .to_text()
            .expose_secret(),
        text.expose_secret()
    );

    // A copy that differs brings the share back, saying why.
    notice(
        &mut app,
        Notice::CopyChecked {
            custodian: "Carol Nakamura".to_string(),
            difference: Some("group 3 is mistyped".to_string()),
        },
    );
    show(&mut app);
    press(&mut app, KeyCode::Enter);
    assert_shows(
        &app,
        &["Your copy differed (group 3 is mistyped): correct your paper copy"],
    );
    answer(press(&mut app, KeyCode::Char('y')));
    copy_back(&mut app);
    let mut again = None;
    for line in &lines {
        type_text(&mut app, line);
        again = press(&mut app, KeyCode::Enter);
    }
    answer(again);

    // A copy that matches: the share is wiped, the room may look again.
    notice(
        &mut app,
        Notice::CopyChecked {
            custodian: "Carol Nakamura".to_string(),
            difference: None,
        },
    );
    prompt(
        &mut app,
        Prompt::ShareBag {
            step: script_step("2.1"),
            custodian: person("carol"),
            secret: Secret::SoPin,
            number: 1,
            refused: None,
        },
    );
    no_share(&app);
    assert_shows(
        &app,
        &[
            "Carol Nakamura's copy matches: the share is wiped",
            "Everyone may",
            "look at the screen again",
            "Carol Nakamura seals share 1 of the SO PIN",
            "record the bag serial",
        ],
    );
    type_text(&mut app, "TEB-0101");
    assert!(matches!(answer(press(&mut app, KeyCode::Enter)), Answer::Text(t) if t == "TEB-0101"));
}

/// The engine asks Carol for the serial of the bag she opens at step 2.2.
fn bag_opened(refused: Option<&str>) -> App {
    let mut app = running();
    begin_step(&mut app, "2.2");
    prompt(
        &mut app,
        Prompt::BagOpened {
            step: script_step("2.2"),
            custodian: person("carol"),
            secret: Secret::UserPin,
            refused: refused.map(str::to_string),
        },
    );
    app
}

#[test]
fn the_bag_a_share_comes_out_of_is_read_before_it_is_opened_and_a_used_serial_is_refused() {
    let mut app = bag_opened(None);
    assert_shows(
        &app,
        &[
            "Carol Nakamura reads aloud the serial of the bag",
            "before opening it. Bag serial:",
            "the tool compares it with the last",
        ],
    );
    type_text(&mut app, "TEB-0102");
    assert!(matches!(answer(press(&mut app, KeyCode::Enter)), Answer::Text(t) if t == "TEB-0102"));
    prompt(
        &mut app,
        Prompt::ShareBag {
            step: script_step("2.2"),
            custodian: person("carol"),
            secret: Secret::UserPin,
            number: 1,
            refused: Some(
                "bag serial TEB-0101 is recorded already (that bag held carol's so-pin share)"
                    .to_string(),
            ),
        },
    );
    assert_shows(
        &app,
        &[
            "seals share 1 of the user PIN in a new",
            "! bag serial TEB-0101 is recorded already",
        ],
    );
}

#[test]
fn custodians_are_chosen_and_type_their_shares_unseen() {
    let mut app = running();
    begin_step(&mut app, "2.2");
    let eligible = vec![person("carol"), person("dave"), person("erin")];
    prompt(
        &mut app,
        Prompt::ChooseCustodians {
            step: script_step("2.2"),
            secret: Secret::UserPin,
            eligible,
            threshold: 2,
        },
    );
    assert_shows(
        &app,
        &[
            "Exactly 2 of these 3",
            "> [ ] Carol Nakamura",
            "  [ ] David Mensah",
            "Chosen: 0 of 2",
        ],
    );
    // Enter before exactly 2 are chosen does not answer.
    press(&mut app, KeyCode::Char(' '));
    assert!(press(&mut app, KeyCode::Enter).is_none());
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Down);
    press(&mut app, KeyCode::Char(' '));
    press(&mut app, KeyCode::Up);
    press(&mut app, KeyCode::Char(' '));
    assert_shows(&app, &["2 are already chosen"]);
    assert_shows(
        &app,
        &[
            "[x] Carol Nakamura",
            "[ ] David Mensah",
            "[x] Erin Kowalski",
            "Carol Nakamura and Erin Kowalski come forward",
        ],
    );
    let Answer::Custodians(ids) = answer(press(&mut app, KeyCode::Enter)) else {
        panic!("expected custodians");
    };
    assert_eq!(ids, ["carol", "erin"]);

    let share = share_of(SecretKind::UserPin, 1);
    let typed = share.to_text().expose_secret().replace('-', " ");
    let parts: Vec<&str> = typed.split(' ').collect();
    let lines = [
        parts[..7].join("-"),
        parts[7..11].join(" "),
        parts[11..15].join(" "),
        parts[15].to_string(),
    ];
    prompt(
        &mut app,
        Prompt::Share {
            step: script_step("2.2"),
            custodian: person("carol"),
            secret: Secret::UserPin,
        },
    );
    assert_shows(
        &app,
        &[
            "At the keyboard: Carol Nakamura (custodian 1 of 2)",
            "Shares entered so far: 0 of 2",
            "look away from the keyboard",
        ],
    );
    let mut reply = None;
    for (i, text) in lines.iter().enumerate() {
        type_text(&mut app, text);
        let drawn = screen(&app);
        assert!(
            !drawn.contains(text.as_str()),
            "typed share text on screen:\n{drawn}"
        );
        assert!(
            drawn.contains(&format!(
                "{} ({})",
                "*".repeat(text.len().min(40)),
                text.len()
            )),
            "{drawn}"
        );
        if i == 0 {
            assert_shows(&app, &["[>] header", "[ ] groups 1 2 3 4"]);
        }
        reply = press(&mut app, KeyCode::Enter);
        assert_eq!(reply.is_some(), i == 3);
    }
    let Answer::Secret(entered) = answer(reply) else {
        panic!("expected a share");
    };
    assert!(Share::parse(entered.expose_secret()).is_ok());
    // As the engine does it: the refusal, then the same question again.
    notice(
        &mut app,
        Notice::ShareRejected {
            custodian: "Erin Kowalski".to_string(),
            reason: "group 3 of this share is mistyped".to_string(),
            failures: 1,
            limit: 3,
        },
    );
    let erin = || Prompt::Share {
        step: script_step("2.2"),
        custodian: person("erin"),
        secret: Secret::UserPin,
    };
    prompt(&mut app, erin());
    assert_shows(
        &app,
        &[
            "custodian 2 of 2",
            "Shares entered so far: 1 of 2",
            "Erin Kowalski's share was refused: group 3",
            "Performer Ada Okafor   Witness Quinn Adeyemi",
        ],
    );
    // Esc: Erin steps back, and the room chooses again.
    assert!(matches!(
        press(&mut app, KeyCode::Esc),
        Some(Err(InputError::ChooseAgain))
    ));
    // The refusal was Erin's: whoever types next sees none.
    prompt(&mut app, erin());
    assert!(!screen(&app).contains("was refused"), "{}", screen(&app));
}

#[test]
fn the_hsm_at_work_shows_elapsed_time_then_the_key_grouped_and_in_words() {
    let mut app = running();
    begin_step(&mut app, "3.1");
    notice(
        &mut app,
        Notice::HsmWorking {
            what: "generating RSA-4096 key pair 'example-tls-rsa-root-2026'".to_string(),
        },
    );
    update(&mut app, Event::Tick(at("2026-11-25T10:01:15Z")));
    assert_shows(
        &app,
        &["The HSM is working: generating RSA-4096", "1:15 elapsed"],
    );
    let first = screen(&app);
    update(&mut app, Event::Tick(at("2026-11-25T10:01:16Z")));
    assert_ne!(first, screen(&app), "the screen moves while the HSM works");
    notice(
        &mut app,
        Notice::HsmDone {
            what: "RSA-4096 key pair 'example-tls-rsa-root-2026' generated".to_string(),
            milliseconds: 76_000.0,
        },
    );
    notice(&mut app, key_generated(false));
    prompt(
        &mut app,
        Prompt::Exceptions {
            step: script_step("3.1"),
            witness: person("quinn"),
        },
    );
    assert_shows(
        &app,
        &[
            "Public key SHA-256 of 'example-tls-rsa-root-2026':",
            "E3B0 C442 98FC 1C14 9AFB F4C8 996F B924",
            "27AE 41E4 649B 934C A495 991B 7852 B855",
            // 0xE3 0xB0 as PGP words: the even and the odd list.
            "tissue phonetic",
            "Read back from the token: CKA_SENSITIVE=true",
        ],
    );
}

#[test]
fn the_export_step_shows_the_certificate_fingerprint_and_the_files() {
    let mut app = running();
    begin_step(&mut app, "4.1");
    notice(
        &mut app,
        Notice::CertificateSigned {
            label: "example-tls-rsa-root-2026".to_string(),
            subject: "CN=Example TLS RSA Root CA 2026,O=Example Trust Co.\\, Ltd.,C=JP".to_string(),
            serial: "5A17".to_string(),
            sha256: CERT_SHA.to_string(),
        },
    );
    begin_step(&mut app, "4.2");
    for file in [
        "certs/example-tls-rsa-root-2026.der",
        "certs/example-tls-rsa-root-2026.pem",
        "fingerprints.txt",
    ] {
        notice(
            &mut app,
            Notice::FileWritten {
                path: format!("/media/ceremony/out/{file}"),
                sha256: KEY_SHA.to_string(),
            },
        );
    }
    prompt(
        &mut app,
        Prompt::Exceptions {
            step: script_step("4.2"),
            witness: person("quinn"),
        },
    );
    assert_shows(
        &app,
        &[
            "Certificate SHA-256 of 'example-tls-rsa-root-2026':",
            "2C26 B46B 68FF C68F F99B 453C 1D30 4134",
            "Written in /media/ceremony/out:",
            "certs/example-tls-rsa-root-2026.der",
            "fingerprints.txt",
        ],
    );
}

#[test]
fn the_seal_shows_the_head_grouped_and_in_words_and_waits_for_the_witness() {
    let mut app = running();
    begin_step(&mut app, "5.4");
    prompt(
        &mut app,
        Prompt::WitnessTokenPin {
            witness: person("quinn"),
            token_label: "Quinn Adeyemi (auditor)".to_string(),
        },
    );
    type_text(&mut app, "123456?");
    assert_shows(
        &app,
        &[
            "PIN        ******* (7)",
            "token 'Quinn Adeyemi",
            "REHEARSAL: the lab's stand-in",
        ],
    );
    assert!(!screen(&app).contains("123456"));
    assert!(
        matches!(answer(press(&mut app, KeyCode::Enter)), Answer::Secret(pin) if pin.expose_secret() == "123456?")
    );
    let words = keyceremony_tui::pgp_words(HEAD).join(" ");
    notice(
        &mut app,
        Notice::Sealed {
            outcome: "completed".to_string(),
            entries: 142,
            head: HEAD.to_string(),
            words: words.clone(),
        },
    );
    prompt(
        &mut app,
        Prompt::ConfirmSeal {
            witness: person("quinn"),
            head: HEAD.to_string(),
            words,
        },
    );
    assert_shows(
        &app,
        &[
            "The ceremony log is sealed",
            "Outcome: completed, 142 entries",
            "FCDE 2B2E DBA5 6BF4 0860 1FB7 21FE 9B5C",
            "wayside telephone briefcase",
        ],
    );
    assert!(
        press(&mut app, KeyCode::Enter).is_none(),
        "only Y confirms the copy"
    );
    assert!(matches!(
        answer(press(&mut app, KeyCode::Char('y'))),
        Answer::SealCopied
    ));
}

#[test]
fn the_witness_signs_on_their_own_device_and_the_operator_names_the_signature() {
    let mut app = running();
    begin_step(&mut app, "5.4");
    let request = |refused: Option<&str>| keyceremony_engine::SignatureRequest {
        statement: "/media/kc/root-2026-20261125T100000Z/seal-statement.txt".into(),
        sha256: KEY_SHA.to_string(),
        words: keyceremony_tui::pgp_words(KEY_SHA).join(" "),
        signature: "/media/kc/root-2026-20261125T100000Z/witness-signature.der".into(),
        refused: refused.map(str::to_string),
    };
    prompt(
        &mut app,
        Prompt::WitnessSignature {
            witness: person("quinn"),
            request: request(None),
        },
    );
    assert_shows(
        &app,
        &[
            "THE WITNESS SIGNS THE SEAL ON THEIR OWN DEVICE",
            "put the HSM into its new bag now",
            "E3B0 C442 98FC 1C14 9AFB F4C8 996F B924",
            "Never type your PIN here",
        ],
    );
    // The suggested file is in the field: Enter takes it.
    assert!(matches!(
        answer(press(&mut app, KeyCode::Enter)),
        Answer::Text(path) if path == "/media/kc/root-2026-20261125T100000Z/witness-signature.der"
    ));
    // Refused, it is asked again with the reason, and another path typed.
    prompt(
        &mut app,
        Prompt::WitnessSignature {
            witness: person("quinn"),
            request: request(Some("it is not the witness's key")),
        },
    );
    assert_shows(&app, &["refused: it is not the witness's key"]);
    key(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    type_text(&mut app, "/media/kc/sig.der");
    assert!(matches!(
        answer(press(&mut app, KeyCode::Enter)),
        Answer::Text(path) if path == "/media/kc/sig.der"
    ));
}

#[test]
fn abort_asks_for_a_reason_and_answers_the_open_question() {
    let mut app = running();
    begin_step(&mut app, "1.1");
    prompt(
        &mut app,
        Prompt::Exceptions {
            step: script_step("1.1"),
            witness: person("quinn"),
        },
    );
    press(&mut app, KeyCode::F(10));
    assert_shows(&app, &["Abort the ceremony", "Reason:"]);
    // No reason, no abort.
    assert!(press(&mut app, KeyCode::Enter).is_none());
    type_text(&mut app, "fire alarm");
    press(&mut app, KeyCode::Enter);
    assert_shows(&app, &["Abort the ceremony now?"]);
    match press(&mut app, KeyCode::Char('y')) {
        Some(Err(InputError::Aborted { reason })) => assert_eq!(reason, "fire alarm"),
        _ => panic!("expected an abort"),
    }
}

#[test]
fn an_abort_while_the_hsm_works_answers_the_next_question() {
    let mut app = running();
    begin_step(&mut app, "3.1");
    notice(
        &mut app,
        Notice::HsmWorking {
            what: "generating".to_string(),
        },
    );
    key(&mut app, KeyCode::Char('a'), KeyModifiers::CONTROL);
    type_text(&mut app, "power cut");
    press(&mut app, KeyCode::Enter);
    assert!(press(&mut app, KeyCode::Char('y')).is_none());
    assert_shows(&app, &["Abort requested (power cut)"]);
    let reply = prompt(
        &mut app,
        Prompt::Exceptions {
            step: script_step("3.1"),
            witness: person("quinn"),
        },
    );
    assert!(matches!(reply, Some(Err(InputError::Aborted { reason })) if reason == "power cut"));
}

#[test]
fn an_error_says_what_happened_what_it_means_and_what_to_do_and_waits() {
    let mut app = running();
    begin_step(&mut app, "2.2");
    let error = EngineError::Step {
        step: "2.2".to_string(),
        message: "3 failed activation attempts in this step".to_string(),
    };
    update(
        &mut app,
        Event::Finished(stopped_with(&error, Standing::Resumable)),
    );
    assert!(app.take_clear());
    assert_shows(
        &app,
        &[
            "THE CEREMONY STOPPED ON AN ERROR",
            "What happened",
            "step 2.2: 3 failed activation attempts",
            "What it means",
            "What to do",
            "Stopped at step 2.2  Activate the HSM token",
        ],
    );
    assert!(!app.exit());
    press(&mut app, KeyCode::F(10));
    assert!(!app.exit(), "only Enter leaves the error screen");
    press(&mut app, KeyCode::Enter);
    assert!(app.exit());
}

#[test]
fn the_help_overlay_fits_80x24_and_question_marks_can_still_be_typed() {
    let mut app = running();
    begin_step(&mut app, "1.1");
    prompt(
        &mut app,
        Prompt::Exceptions {
            step: script_step("1.1"),
            witness: person("quinn"),
        },
    );
    press(&mut app, KeyCode::Char('?'));
    let lines = render(&app);
    let text = lines.join("\n");
    for want in [
        "Help: keys",
        "F10 Ctrl-A",
        "abort the ceremony",
        "[x] done, [>] current, [ ] to come",
        "docs/operator-guide.md",
    ] {
        assert!(text.contains(want), "'{want}' missing:\n{text}");
    }
    assert!(lines.iter().all(|l| l.chars().count() <= 80));
    press(&mut app, KeyCode::Esc);
    assert!(!screen(&app).contains("Help: keys"));

    // In a text field '?' is a character; F1 is help.
    begin_step(&mut app, "1.5");
    let step = script_step("1.5");
    prompt(
        &mut app,
        Prompt::Record {
            field: step.record[0].clone(),
            step,
            refused: None,
        },
    );
    type_text(&mut app, "TEB-?");
    assert_shows(&app, &["> TEB-?_"]);
    press(&mut app, KeyCode::F(1));
    assert_shows(&app, &["Help: keys"]);
}

#[test]
fn the_last_screen_shows_the_certificates_and_the_log() {
    let mut app = running();
    update(
        &mut app,
        Event::Finished(Finished::Completed {
            out_dir: "/media/ceremony/out".to_string(),
            log_entries: 143,
            log_head: HEAD.to_string(),
            certificates: vec![(
                "example-tls-rsa-root-2026".to_string(),
                CERT_SHA.to_string(),
            )],
            backup: "/media/backup/example-tls-rsa-root-2026-20261125T113000Z/ceremony.log"
                .to_string(),
            sealed: keyceremony_engine::SealOutcome::Completed,
        }),
    );
    assert_shows(
        &app,
        &[
            "CEREMONY COMPLETE (REHEARSAL)",
            "143 entries",
            "FCDE 2B2E",
            "2C26 B46B 68FF C68F",
            "Enter",
            "exit",
        ],
    );
}

#[test]
fn network_interfaces_up_ask_the_witness_before_the_start() {
    let mut app = App::new(info(false), &shipped(), at("2026-11-25T10:00:00Z"));
    notice(
        &mut app,
        Notice::NetworkUp {
            interfaces: vec!["eth0".to_string()],
        },
    );
    prompt(
        &mut app,
        Prompt::NetworkExplanation {
            witness: person("quinn"),
            interfaces: vec!["eth0".to_string()],
        },
    );
    assert_shows(
        &app,
        &[
            "NETWORK INTERFACES ARE UP",
            "eth0",
            "CPS 6.7",
            "Quinn Adeyemi (Qualified Auditor) records why",
        ],
    );
    type_text(&mut app, "link to the HSM's own switch only");
    assert!(
        matches!(answer(press(&mut app, KeyCode::Enter)), Answer::Text(t) if t.starts_with("link"))
    );
    update(&mut app, Event::Ready(checked()));
    assert_shows(&app, &["Network interfaces up: eth0"]);
}

#[test]
fn resizing_redraws_at_any_size() {
    let mut app = running();
    begin_step(&mut app, "1.1");
    update(&mut app, Event::Resize);
    for (w, h) in [(80, 24), (120, 40), (40, 10), (1, 1)] {
        let mut terminal = Terminal::new(TestBackend::new(w, h)).expect("test terminal");
        terminal.draw(|frame| view(&app, frame)).expect("draw");
    }
}

/// The screens the operator guide shows, each built the way the ceremony
/// reaches it.
/// What the engine shows before the root certificate's signature.
fn certificate_to_sign() -> Imminent {
    let fact = |label: &str, value: &str| (label.to_string(), value.to_string());
    Imminent {
        action: "self-sign",
        what: "sign the root certificate of 'example-tls-rsa-root-2026' with its key in the HSM"
            .to_string(),
        facts: vec![
            fact(
                "Subject",
                "CN=Example TLS RSA Root CA 2026,O=Example Trust Co.\\, Ltd.,C=JP",
            ),
            fact(
                "Issuer",
                "CN=Example TLS RSA Root CA 2026,O=Example Trust Co.\\, Ltd.,C=JP (self-signed)",
            ),
            fact("Serial", "5C0F 9A1E 77B2 0C43 D1A8 6E55 0B19 F2C4"),
            fact("Not before", "2026-11-25 10:05:00 UTC"),
            fact("Not after", "2051-11-24 10:04:59 UTC (9131 days)"),
            fact(
                "Extensions",
                "basicConstraints, critical: CA:TRUE, no path length\nkeyUsage, critical: keyCertSign, cRLSign\nsubjectKeyIdentifier: 8E3F22A1C0B94D7E5A61F03B9D2C47E8A1B5F609\nauthorityKeyIdentifier: the subjectKeyIdentifier",
            ),
            fact("Signature", "sha384WithRSAEncryption"),
            fact(
                "Key SHA-256",
                "E3B0 C442 98FC 1C14 9AFB F4C8 996F B924 27AE 41E4 649B 934C A495 991B 7852 B855",
            ),
        ],
        lint: Some(Vec::new()),
    }
}

/// The go screen of step 4.1, as the engine opens it.
fn go_screen() -> App {
    let mut app = running();
    begin_step(&mut app, "4.1");
    notice(&mut app, Notice::Imminent(certificate_to_sign()));
    assert!(
        prompt(
            &mut app,
            Prompt::Go {
                step: script_step("4.1"),
                performer: person("ada"),
                imminent: Box::new(certificate_to_sign()),
            }
        )
        .is_none()
    );
    app
}

#[test]
fn the_go_screen_shows_the_certificate_to_be_signed_and_waits_for_the_performer() {
    let mut app = go_screen();
    assert_shows(
        &app,
        &[
            "About to sign the root certificate",
            "Subject",
            "CN=Example TLS RSA Root CA 2026",
            "(self-signed)",
            "5C0F 9A1E 77B2 0C43",
            "Not before",
            "(9131 days)",
            "basicConstraints, critical: CA:TRUE, no path length",
            "keyUsage, critical: keyCertSign, cRLSign",
            "subjectKeyIdentifier: 8E3F22A1C0B94D7E5A61F03B9D2C47E8A1B5F609",
            "authorityKeyIdentifier: the subjectKeyIdentifier",
            "sha384WithRSAEncryption",
            "E3B0 C442 98FC 1C14",
            "Pre-signing lint: no finding",
            "Ada Okafor gives the go",
            "G give the go",
        ],
    );
    // Enter, Y or anything else is not the go; only G then Y is.
    for code in [KeyCode::Enter, KeyCode::Char('y'), KeyCode::Char(' ')] {
        assert!(press(&mut app, code).is_none());
    }
    assert!(press(&mut app, KeyCode::Char('g')).is_none());
    assert_shows(
        &app,
        &["Ada Okafor: give the go?", "Y give the go  N go back"],
    );
    assert!(press(&mut app, KeyCode::Char('n')).is_none());
    assert_shows(&app, &["G give the go"]);
    press(&mut app, KeyCode::Char('g'));
    assert!(matches!(
        answer(press(&mut app, KeyCode::Char('y'))),
        Answer::Go
    ));
}

#[test]
fn a_go_longer_than_the_terminal_is_read_to_its_end_before_the_go() {
    let mut app = running();
    begin_step(&mut app, "4.1");
    let mut imminent = certificate_to_sign();
    imminent.action = "sign-subordinate";
    for n in 1..=12 {
        imminent
            .facts
            .push((format!("Fact {n}"), format!("value of fact {n}")));
    }
    prompt(
        &mut app,
        Prompt::Go {
            step: script_step("4.1"),
            performer: person("ada"),
            imminent: Box::new(imminent),
        },
    );
    assert_shows(&app, &["Subject", "more line(s) below", "PgDn read on"]);
    assert!(!screen(&app).contains("value of fact 12"));
    // G is not the go while lines remain unread.
    assert!(press(&mut app, KeyCode::Char('g')).is_none());
    assert!(!screen(&app).contains("give the go?"));
    while screen(&app).contains("more line(s) below") {
        press(&mut app, KeyCode::PageDown);
    }
    assert_shows(
        &app,
        &[
            "value of fact 12",
            "Pre-signing lint: no finding",
            "G give the go",
        ],
    );
    press(&mut app, KeyCode::Char('g'));
    assert_shows(&app, &["Ada Okafor: give the go?"]);
    assert!(matches!(
        answer(press(&mut app, KeyCode::Char('y'))),
        Answer::Go
    ));
}

fn guide_captures() -> Vec<(&'static str, Vec<String>)> {
    let mut captures = Vec::new();

    let start = app(true);
    captures.push(("start", render(&start)));

    let mut check_in = running();
    begin_step(&mut check_in, "1.2");
    for (id, document) in [("ada", "passport"), ("sam", "passport")] {
        prompt(
            &mut check_in,
            Prompt::CheckIn {
                step: script_step("1.2"),
                participant: person(id),
                witness: person("quinn"),
                identified: false,
            },
        );
        type_text(&mut check_in, document);
        answer(press(&mut check_in, KeyCode::Enter));
    }
    prompt(
        &mut check_in,
        Prompt::CheckIn {
            step: script_step("1.2"),
            participant: person("carol"),
            witness: person("quinn"),
            identified: false,
        },
    );
    type_text(&mut check_in, "national identity card");
    captures.push(("check-in", render(&check_in)));

    let mut step = running();
    for id in ["1.1", "1.2", "1.3", "1.4", "1.5"] {
        begin_step(&mut step, id);
    }
    prompt(
        &mut step,
        Prompt::Exceptions {
            step: script_step("1.5"),
            witness: person("quinn"),
        },
    );
    captures.push(("step", render(&step)));
    press(&mut step, KeyCode::Enter);
    captures.push(("witness-confirm", render(&step)));

    let mut exception = running();
    begin_step(&mut exception, "1.3");
    prompt(
        &mut exception,
        Prompt::Exceptions {
            step: script_step("1.3"),
            witness: person("lena"),
        },
    );
    press(&mut exception, KeyCode::Char('e'));
    type_text(&mut exception, "camera 2 was not recording for 3 minutes");
    press(&mut exception, KeyCode::Enter);
    captures.push(("exception", render(&exception)));

    let mut share = running();
    for id in ["1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "2.1"] {
        begin_step(&mut share, id);
    }
    show_carol(&mut share, &share_of(SecretKind::SoPin, 1));
    captures.push(("share-look-away", render(&share)));
    press(&mut share, KeyCode::Enter);
    captures.push(("share-shown", render(&share)));
    press(&mut share, KeyCode::Char('y'));
    prompt(
        &mut share,
        Prompt::CopyBack {
            step: script_step("2.1"),
            custodian: person("carol"),
            secret: Secret::SoPin,
            number: 1,
        },
    );
    type_text(&mut share, "KC1-S-AA1D-G1MT-1-2-3");
    press(&mut share, KeyCode::Enter);
    type_text(&mut share, "V1691 KS5D1");
    captures.push(("share-copy-back", render(&share)));
    notice(
        &mut share,
        Notice::CopyChecked {
            custodian: "Carol Nakamura".to_string(),
            difference: None,
        },
    );
    prompt(
        &mut share,
        Prompt::ShareBag {
            step: script_step("2.1"),
            custodian: person("carol"),
            secret: Secret::SoPin,
            number: 1,
            refused: None,
        },
    );
    type_text(&mut share, "TEB-0101");
    captures.push(("share-bag", render(&share)));

    let mut login = running();
    begin_step(&mut login, "2.2");
    let eligible = vec![person("carol"), person("dave"), person("erin")];
    prompt(
        &mut login,
        Prompt::ChooseCustodians {
            step: script_step("2.2"),
            secret: Secret::UserPin,
            eligible,
            threshold: 2,
        },
    );
    press(&mut login, KeyCode::Char(' '));
    press(&mut login, KeyCode::Down);
    captures.push(("custodians", render(&login)));
    press(&mut login, KeyCode::Char(' '));
    press(&mut login, KeyCode::Enter);
    prompt(
        &mut login,
        Prompt::Share {
            step: script_step("2.2"),
            custodian: person("carol"),
            secret: Secret::UserPin,
        },
    );
    type_text(&mut login, "KC1-U-Z5T8-F290-2-2-3");
    press(&mut login, KeyCode::Enter);
    type_text(&mut login, "NRJNZ J90W");
    captures.push(("share-entry", render(&login)));

    captures.push(("go-certificate", render(&go_screen())));
    let mut presence = running();
    everyone_in(&mut presence);
    begin_step(&mut presence, "1.3");
    press(&mut presence, KeyCode::F(6));
    for _ in 0..8 {
        press(&mut presence, KeyCode::Down);
    }
    press(&mut presence, KeyCode::Char('l'));
    type_text(&mut presence, "phone call");
    press(&mut presence, KeyCode::Enter);
    captures.push(("presence", render(&presence)));
    let mut opening = bag_opened(None);
    type_text(&mut opening, "TEB-0102");
    captures.push(("bag-opened", render(&opening)));

    let mut hsm = running();
    for id in [
        "1.1", "1.2", "1.3", "1.4", "1.5", "1.6", "2.1", "2.2", "3.1",
    ] {
        begin_step(&mut hsm, id);
    }
    notice(
        &mut hsm,
        Notice::HsmWorking {
            what: "generating RSA-4096 key pair 'example-tls-rsa-root-2026'".to_string(),
        },
    );
    update(&mut hsm, Event::Tick(at("2026-11-25T10:01:15Z")));
    captures.push(("hsm-working", render(&hsm)));
    notice(
        &mut hsm,
        Notice::HsmDone {
            what: "RSA-4096 key pair generated".to_string(),
            milliseconds: 75_000.0,
        },
    );
    notice(
        &mut hsm,
        Notice::KeyGenerated {
            label: "example-tls-rsa-root-2026".to_string(),
            uri: "pkcs11:token=Example%20TLS%20RSA%20Root%202026;object=example-tls-rsa-root-2026"
                .to_string(),
            public_key_sha256: KEY_SHA.to_string(),
            attributes: read_back(),
            taken_up: false,
        },
    );
    prompt(
        &mut hsm,
        Prompt::Exceptions {
            step: script_step("3.1"),
            witness: person("quinn"),
        },
    );
    captures.push(("key-results", render(&hsm)));

    let mut seal = running();
    begin_step(&mut seal, "5.4");
    let words = keyceremony_tui::pgp_words(HEAD).join(" ");
    notice(
        &mut seal,
        Notice::Sealed {
            outcome: "completed".to_string(),
            entries: 142,
            head: HEAD.to_string(),
            words: words.clone(),
        },
    );
    prompt(
        &mut seal,
        Prompt::ConfirmSeal {
            witness: person("quinn"),
            head: HEAD.to_string(),
            words,
        },
    );
    captures.push(("seal", render(&seal)));

    let mut abort = running();
    begin_step(&mut abort, "1.3");
    prompt(
        &mut abort,
        Prompt::Exceptions {
            step: script_step("1.3"),
            witness: person("lena"),
        },
    );
    press(&mut abort, KeyCode::F(10));
    type_text(&mut abort, "fire alarm: the room is evacuated");
    press(&mut abort, KeyCode::Enter);
    captures.push(("abort", render(&abort)));

    let mut error = running();
    begin_step(&mut error, "2.2");
    let failed = EngineError::Step {
        step: "2.2".to_string(),
        message: "the token refused 3 login(s) in this ceremony, the limit the script sets (hsm.max_failed_logins = 3): no login is tried on it again, so that it is not locked out, and the ceremony can only be aborted (CPS 5.4.1)".to_string(),
    };
    update(
        &mut error,
        Event::Finished(stopped_with(
            &failed,
            Standing::AbortOnly("the token refused 3 login(s) in this ceremony, the limit the script sets (hsm.max_failed_logins = 3)".to_string()),
        )),
    );
    captures.push(("error", render(&error)));

    let mut help = running();
    begin_step(&mut help, "1.1");
    press(&mut help, KeyCode::Char('?'));
    captures.push(("help", render(&help)));

    let mut act_end = running();
    begin_step(&mut act_end, "2.2");
    prompt(
        &mut act_end,
        Prompt::CopyHead {
            witness: person("quinn"),
            head: head_shown("the end of act 2", 59),
        },
    );
    captures.push(("act-head", render(&act_end)));

    let mut stopped = running();
    begin_step(&mut stopped, "3.1");
    notice(
        &mut stopped,
        Notice::LogHead(head_shown("the stop in step 3.1", 64)),
    );
    let interrupted = EngineError::Interrupted {
        signal: "SIGTERM".to_string(),
        step: "3.1".to_string(),
        at: "after the key generation",
    };
    update(
        &mut stopped,
        Event::Finished(stopped_with(&interrupted, Standing::Resumable)),
    );
    captures.push(("stopped-head", render(&stopped)));

    let mut last = App::new(info(true), &shipped(), at("2026-11-25T10:00:00Z"));
    prompt(
        &mut last,
        Prompt::LastHead {
            witness: person("quinn"),
            entries: 66,
        },
    );
    type_text(&mut last, "FCDE 2B2E DBA5 6BF4 0860 1FB7 21FE 9B5C");
    captures.push(("last-head", render(&last)));

    let mut changed = App::new(info(true), &shipped(), at("2026-11-25T10:00:00Z"));
    prompt(
        &mut changed,
        Prompt::EnvironmentChange {
            witness: person("quinn"),
            changes: vec!["PKCS#11 module path: /usr/lib/softhsm/libsofthsm2.so in the first run, /opt/softhsm/lib/libsofthsm2.so now".to_string()],
        },
    );
    captures.push(("environment-change", render(&changed)));
    captures
}

/// The text between `<!-- capture: NAME -->` and the end of the code block
/// after it.
fn capture_span(doc: &str, name: &str) -> Option<(usize, usize)> {
    let marker = format!("<!-- capture: {name} -->\n```text\n");
    let start = doc.find(&marker)? + marker.len();
    let end = start + doc[start..].find("```\n")?;
    Some((start, end))
}

/// The operator guide's captures are these renders; with
/// KEYCEREMONY_UPDATE_DOCS=1 the test writes them into the guide instead.
#[test]
fn operator_guide_captures_match_the_screens() {
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../docs/operator-guide.md");
    let mut doc = std::fs::read_to_string(&path).expect("docs/operator-guide.md");
    let update_docs = std::env::var_os("KEYCEREMONY_UPDATE_DOCS").is_some();
    for (name, lines) in guide_captures() {
        let mut text: Vec<&str> = lines.iter().map(String::as_str).collect();
        while text.last() == Some(&"") {
            text.pop();
        }
        let want = format!("{}\n", text.join("\n"));
        let (start, end) =
            capture_span(&doc, name).unwrap_or_else(|| panic!("no capture '{name}' in the guide"));
        if update_docs {
            doc.replace_range(start..end, &want);
        } else {
            assert_eq!(
                doc[start..end],
                want,
                "capture '{name}' in docs/operator-guide.md is out of date: run with KEYCEREMONY_UPDATE_DOCS=1"
            );
        }
    }
    if update_docs {
        std::fs::write(&path, doc).expect("write the guide");
    }
}

#[test]
fn an_interrupted_ceremony_is_resumed_or_aborted_before_the_start() {
    let interrupted = keyceremony_engine::Interrupted {
        entries: 48,
        ceremony_id: "example-tls-rsa-root-2026".to_string(),
        completed: vec!["1.1".to_string(), "1.2".to_string(), "2.2".to_string()],
        next_step: Some("3.1".to_string()),
        last: "step-end: step 2.2 ends".to_string(),
        ..Default::default()
    };
    let mut app = App::new(info(true), &shipped(), at("2026-11-25T10:00:00Z"));
    prompt(
        &mut app,
        Prompt::Resume {
            interrupted: Box::new(interrupted.clone()),
        },
    );
    assert_shows(
        &app,
        &[
            "AN INTERRUPTED CEREMONY IS IN THE OUTPUT FOLDER",
            "48 entries, not sealed",
            "steps 1.1 1.2 2.2",
            "step 3.1",
            "resume it from the next step",
        ],
    );
    assert!(matches!(
        answer(press(&mut app, KeyCode::Char('r'))),
        Answer::Resume(keyceremony_engine::operator::ResumeChoice::Resume)
    ));
    update(&mut app, Event::Ready(checked()));
    assert_shows(&app, &["resume the interrupted ceremony"]);

    // Shares lost: only an abort, with a reason.
    let mut app = App::new(info(true), &shipped(), at("2026-11-25T10:00:00Z"));
    let lost = keyceremony_engine::Interrupted {
        shares_lost: true,
        ..interrupted
    };
    prompt(
        &mut app,
        Prompt::Resume {
            interrupted: Box::new(lost),
        },
    );
    assert_shows(
        &app,
        &[
            "It can only be aborted: the ceremony stopped while the token",
            "abort it (the log records the reason)",
        ],
    );
    assert!(!screen(&app).contains("resume it"));
    assert!(press(&mut app, KeyCode::Char('r')).is_none());
    press(&mut app, KeyCode::Char('a'));
    type_text(&mut app, "token PINs lost");
    press(&mut app, KeyCode::Enter);
    let reply = press(&mut app, KeyCode::Char('y'));
    assert!(matches!(
        answer(reply),
        Answer::Resume(keyceremony_engine::operator::ResumeChoice::Abort { reason }) if reason == "token PINs lost"
    ));

    // An output changed since its record: evidence, only an abort.
    let mut app = App::new(info(true), &shipped(), at("2026-11-25T10:00:00Z"));
    let changed = keyceremony_engine::Interrupted {
        changed: vec!["certs/root.der (recorded with SHA-256 AB, now CD)".to_string()],
        ..keyceremony_engine::Interrupted::default()
    };
    prompt(
        &mut app,
        Prompt::Resume {
            interrupted: Box::new(changed),
        },
    );
    assert_shows(
        &app,
        &[
            "It can only be aborted: the output folder no longer holds",
            "certs/root.der",
            "abort it (the log records the reason)",
        ],
    );
    assert!(!screen(&app).contains("resume it"));
    assert!(press(&mut app, KeyCode::Char('r')).is_none());
}

#[test]
fn a_refusal_before_the_start_says_nothing_was_written() {
    let mut app = App::new(info(true), &shipped(), at("2026-11-25T10:00:00Z"));
    let refused = EngineError::Refused(
        "a token labelled 'Example TLS RSA Root 2026' is already initialised".to_string(),
    );
    update(
        &mut app,
        Event::Finished(Finished::Stopped(explain(&refused))),
    );
    assert_shows(
        &app,
        &[
            "THE CEREMONY STOPPED ON AN ERROR",
            "is already",
            "Nothing was written and the HSM is unchanged",
        ],
    );
    assert!(!screen(&app).contains("Stopped at"));
}

/// The engine's notice of the RSA root key, generated now or `taken_up`.
fn key_generated(taken_up: bool) -> Notice {
    Notice::KeyGenerated {
        label: "example-tls-rsa-root-2026".to_string(),
        uri: "pkcs11:token=Example;object=example-tls-rsa-root-2026".to_string(),
        public_key_sha256: KEY_SHA.to_string(),
        attributes: read_back(),
        taken_up,
    }
}

/// Attributes as a correctly made CA key reads back.
fn read_back() -> Vec<(&'static str, bool)> {
    vec![
        ("CKA_SENSITIVE", true),
        ("CKA_ALWAYS_SENSITIVE", true),
        ("CKA_EXTRACTABLE", false),
        ("CKA_NEVER_EXTRACTABLE", true),
        ("CKA_LOCAL", true),
        ("CKA_SIGN", true),
        ("CKA_DECRYPT", false),
        ("CKA_UNWRAP", false),
        ("CKA_DERIVE", false),
        ("CKA_ALWAYS_AUTHENTICATE", true),
    ]
}

#[test]
fn hostile_text_shows_escaped_on_every_screen() {
    let mut script = shipped();
    script.acts[0].steps[0].title = "Open\u{1b}[2J the\u{202e} ceremony".to_string();
    let mut info = info(true);
    info.ceremony_name = "Evil\u{1b}]0;SEALED\u{7} ceremony".to_string();
    let mut app = App::new(info, &script, at("2026-11-25T10:00:00Z"));
    update(&mut app, Event::Ready(checked()));
    assert_shows(&app, &["Evil\\u{1b}]0;SEALED\\u{7} ceremony"]);
    assert!(press(&mut app, KeyCode::Enter).is_none());
    assert!(app.take_begin());
    begin(&mut app, &script.acts[0].steps[0]);
    assert_shows(&app, &["Open\\u{1b}[2J the\\u{202e} ceremony"]);
    let error = EngineError::Refused("the log says \u{1b}[8mhidden\u{200b}".to_string());
    update(
        &mut app,
        Event::Finished(Finished::Stopped(explain(&error))),
    );
    assert_shows(&app, &["the log says \\u{1b}[8mhidden\\u{200b}"]);
    for row in render(&app) {
        assert!(
            !row.chars().any(|c| c.is_control()
                || keyceremony_text::is_bidi_control(c)
                || keyceremony_text::is_default_ignorable(c)),
            "{row:?}"
        );
    }
}
fn head_shown(at: &str, entries: u64) -> keyceremony_engine::LogHead {
    keyceremony_engine::LogHead {
        at: at.to_string(),
        entries,
        head: HEAD.to_string(),
        words: keyceremony_tui::pgp_words(HEAD).join(" "),
    }
}

#[test]
fn an_act_ends_with_its_log_head_for_the_witness_to_copy() {
    let mut app = running();
    begin_step(&mut app, "1.6");
    notice(
        &mut app,
        Notice::LogHead(head_shown("the end of act 1", 23)),
    );
    prompt(
        &mut app,
        Prompt::CopyHead {
            witness: person("quinn"),
            head: head_shown("the end of act 1", 23),
        },
    );
    assert_shows(
        &app,
        &[
            "Log head at the end of act 1",
            "copy the log's head after entry 23",
            "FCDE 2B2E DBA5 6BF4 0860 1FB7 21FE 9B5C",
            "wayside telephone briefcase",
            "Y copied",
        ],
    );
    assert!(
        press(&mut app, KeyCode::Enter).is_none(),
        "only Y confirms the copy"
    );
    assert!(matches!(
        answer(press(&mut app, KeyCode::Char('y'))),
        Answer::HeadCopied
    ));
}

#[test]
fn an_interrupted_ceremony_asks_the_witness_for_the_last_copied_head() {
    let mut app = App::new(info(true), &shipped(), at("2026-11-25T10:00:00Z"));
    prompt(
        &mut app,
        Prompt::LastHead {
            witness: person("quinn"),
            entries: 48,
        },
    );
    assert_shows(
        &app,
        &[
            "THE LAST LOG HEAD ON THE PAPER SCRIPT",
            "stopped after 48 entries",
            "Quinn Adeyemi (Qualified Auditor) types the last log head",
            "or none if no head",
        ],
    );
    type_text(&mut app, "fcde 2b2e");
    assert!(press(&mut app, KeyCode::Enter).is_none());
    assert_shows(&app, &["A head is 64 hexadecimal digits"]);
    key(&mut app, KeyCode::Char('u'), KeyModifiers::CONTROL);
    let grouped = keyceremony_tui::pgp_words(HEAD).len();
    assert_eq!(grouped, 32);
    type_text(&mut app, "FCDE 2B2E DBA5 6BF4 0860 1FB7 21FE 9B5C");
    type_text(&mut app, " 338D 10EE 429E A04F AE55 11B6 8FBF 8FB9");
    assert!(matches!(
        answer(press(&mut app, KeyCode::Enter)),
        Answer::Text(typed) if typed.starts_with("FCDE 2B2E")
    ));

    let mut app = App::new(info(true), &shipped(), at("2026-11-25T10:00:00Z"));
    prompt(
        &mut app,
        Prompt::LastHead {
            witness: person("quinn"),
            entries: 5,
        },
    );
    type_text(&mut app, "none");
    assert!(matches!(
        answer(press(&mut app, KeyCode::Enter)),
        Answer::Text(typed) if typed == "none"
    ));
}

#[test]
fn a_changed_environment_is_refused_or_accepted_as_an_exception() {
    let changes = vec![
        "PKCS#11 module path: /usr/lib/softhsm/libsofthsm2.so in the first run, /opt/hsm/lib.so now"
            .to_string(),
    ];
    let open = || {
        let mut app = App::new(info(false), &shipped(), at("2026-11-25T10:00:00Z"));
        prompt(
            &mut app,
            Prompt::EnvironmentChange {
                witness: person("quinn"),
                changes: changes.clone(),
            },
        );
        app
    };
    let mut app = open();
    assert_shows(
        &app,
        &[
            "THIS RUN'S ENVIRONMENT IS NOT THE CEREMONY'S",
            "! PKCS#11 module path: /usr/lib/softhsm/libsofthsm2.so in the first run",
            "accept it as an exception",
            "refuse it: nothing is written",
        ],
    );
    assert!(matches!(
        answer(press(&mut app, KeyCode::Char('n'))),
        Answer::Environment(None)
    ));

    let mut app = open();
    assert!(press(&mut app, KeyCode::Char('a')).is_none());
    type_text(&mut app, "same package, other path");
    assert_shows(
        &app,
        &["Why the change is acceptable:", "same package, other path"],
    );
    assert!(matches!(
        answer(press(&mut app, KeyCode::Enter)),
        Answer::Environment(Some(remark)) if remark == "same package, other path"
    ));
}

#[test]
fn a_stopped_run_shows_its_head_to_copy_and_an_abort_the_keys_left() {
    let mut app = running();
    begin_step(&mut app, "3.1");
    notice(
        &mut app,
        Notice::KeysLeft {
            keys: vec![
                "example-tls-rsa-root-2026 (CKA_ID 0a1b): generated; never certified".to_string(),
            ],
        },
    );
    notice(
        &mut app,
        Notice::LogHead(head_shown("the stop in step 3.1", 61)),
    );
    let aborted = EngineError::Input(InputError::Aborted {
        reason: "fire alarm".to_string(),
    });
    update(
        &mut app,
        Event::Finished(stopped_with(&aborted, Standing::Resumable)),
    );
    assert_shows(
        &app,
        &[
            "THE CEREMONY WAS ABORTED",
            "Copy its head (after entry 61)",
            "FCDE 2B2E DBA5 6BF4 0860 1FB7 21FE 9B5C",
            "Left on the token, live until destroy-key or re-initialisation (CPS 6.2.10):",
            "example-tls-rsa-root-2026 (CKA_ID 0a1b)",
        ],
    );
}
