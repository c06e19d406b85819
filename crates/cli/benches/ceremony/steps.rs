//! A long act against many short ones: the shipped P-384 ceremony with 400
//! more manual steps before its epilogue, once as one act of 400 steps and
//! once as 40 acts of 10. The work is the same (1,200 more log entries);
//! a runner that is linear in the steps of an act takes the same time and
//! memory for both. The output folder is on tmpfs, so that 1,200 fsyncs
//! of a shared disk do not drown the figures; instructions are counted
//! with callgrind (one run each) when valgrind is installed.

use std::path::{Path, PathBuf};
use std::process::Command;

use crate::common::{BIN, Lab, edited, shipped};
use crate::{Result, have_time, measured, median, summary, target};

/// Manual steps added to the shipped script.
pub const EXTRA_STEPS: usize = 400;

/// `steps` manual steps in acts of `per_act`, inserted before the act whose
/// header is `before`: the edited script and its answers, in `lab`.
pub fn with_manual_steps(
    lab: &Lab,
    steps: usize,
    per_act: usize,
    before: &str,
    tag: &str,
) -> (PathBuf, PathBuf) {
    let mut acts = String::new();
    let mut answers = String::new();
    for k in 0..steps {
        if k % per_act == 0 {
            acts.push_str(&format!(
                "[[acts]]\nid = \"x{}\"\ntitle = \"Benchmark act {}\"\n\n",
                k / per_act,
                k / per_act
            ));
        }
        acts.push_str(&format!(
            "[[acts.steps]]\nid = \"x.{k:03}\"\ntitle = \"Benchmark step {k}\"\nperformer = \"sam\"\nwitness = \"quinn\"\ninstructions = \"\"\"\nA manual step of the benchmark: the witness confirms it.\"\"\"\n\n"
        ));
        answers.push_str(&format!("[steps.\"x.{k:03}\"]\nwitness = \"confirm\"\n\n"));
    }
    let script = edited(lab, "root-p384", &[(before, &format!("{acts}{before}"))]);
    let script = rename(&script, &lab.path(&format!("{tag}.toml")));
    let (_, shipped_answers) = shipped("root-p384");
    let text = std::fs::read_to_string(shipped_answers)
        .expect("shipped answers")
        .replacen("[seal]", &format!("{answers}[seal]"), 1);
    let answers_path = lab.path(&format!("{tag}.answers.toml"));
    std::fs::write(&answers_path, text).expect("write the answers");
    (script, answers_path)
}

fn rename(from: &Path, to: &Path) -> PathBuf {
    std::fs::rename(from, to).expect("rename the edited script");
    to.to_path_buf()
}

/// Where the shipped P-384 script's epilogue begins.
const EPILOGUE: &str = "[[acts]]\nid = \"5\"";

struct Shape {
    what: &'static str,
    script: PathBuf,
    answers: PathBuf,
    wall_ms: Vec<f64>,
    peak_mib: Vec<f64>,
    instructions: Option<f64>,
}

pub fn section(runs: usize) -> Result<()> {
    println!();
    println!(
        "# {EXTRA_STEPS} more manual steps in one act against the same steps in 40 acts (P-384 ceremony, out on tmpfs)"
    );
    if !have_time() {
        return Ok(());
    }
    let lab = Lab::new();
    let mut shapes: Vec<Shape> = [
        ("one act of 400 steps", 400, "one"),
        ("40 acts of 10 steps", 10, "forty"),
    ]
    .into_iter()
    .map(|(what, per_act, tag)| {
        let (script, answers) = with_manual_steps(&lab, EXTRA_STEPS, per_act, EPILOGUE, tag);
        Shape {
            what,
            script,
            answers,
            wall_ms: Vec::new(),
            peak_mib: Vec::new(),
            instructions: None,
        }
    })
    .collect();
    for _ in 0..runs {
        for shape in &mut shapes {
            let lab = Lab::new();
            let (cmd, _out) = command(&lab, shape, &[])?;
            let run = measured(cmd)?;
            shape.wall_ms.push(run.wall_ms);
            shape.peak_mib.push(run.peak_mib);
        }
    }
    let valgrind = Command::new("valgrind").arg("--version").output().is_ok();
    if valgrind {
        for shape in &mut shapes {
            shape.instructions = Some(instructions(shape)?);
        }
    }
    println!(
        "{:<22} {:>20} {:>20} {:>24}",
        "", "wall (ms)", "peak RSS (MiB)", "instructions (callgrind)"
    );
    for shape in &shapes {
        println!(
            "{:<22} {:>20} {:>20} {:>24}",
            shape.what,
            summary(&shape.wall_ms, 0),
            summary(&shape.peak_mib, 1),
            shape
                .instructions
                .map_or("-".to_string(), |i| format!("{:.0} M", i / 1e6))
        );
    }
    let ratio = |f: fn(&Shape) -> f64| f(&shapes[0]) / f(&shapes[1]);
    let time = ratio(|s| median(&s.wall_ms));
    let memory = ratio(|s| median(&s.peak_mib));
    let counted = shapes[0]
        .instructions
        .zip(shapes[1].instructions)
        .map(|(a, b)| a / b);
    target(
        "one act of 400 steps against 40 acts of 10, time",
        format!(
            "{time:.2}x{}",
            counted.map_or(String::new(), |c| format!(" (instructions {c:.3}x)"))
        ),
        "1.2x",
        time <= 1.2 && counted.is_none_or(|c| c <= 1.2),
    );
    target(
        "one act of 400 steps against 40 acts of 10, peak memory",
        format!("{memory:.2}x"),
        "1.2x",
        memory <= 1.2,
    );
    Ok(())
}

/// `keyceremony run` of a shape in `lab`, under `wrapper` if one is given,
/// and the tmpfs folder its output goes to (removed when dropped).
fn command(lab: &Lab, shape: &Shape, wrapper: &[&str]) -> Result<(Command, tempfile::TempDir)> {
    let out = tempfile::tempdir_in("/dev/shm")?;
    let mut cmd = match wrapper {
        [program, args @ ..] => {
            let mut cmd = Command::new(program);
            cmd.args(args).arg(BIN);
            cmd
        }
        [] => Command::new(BIN),
    };
    cmd.env(lab.conf_var(), lab.conf())
        .env_remove("KEYCEREMONY_MODULE")
        .args(lab.run_args(&shape.script, &shape.answers, &out.path().join("out")))
        .arg("--inventory")
        .arg(lab.inventory());
    Ok((cmd, out))
}

/// Instructions of one run, counted by callgrind.
fn instructions(shape: &Shape) -> Result<f64> {
    let dir = tempfile::tempdir()?;
    let out_file = format!(
        "--callgrind-out-file={}",
        dir.path().join("cg.out").display()
    );
    let lab = Lab::new();
    let (mut cmd, _out) = command(&lab, shape, &["valgrind", "--tool=callgrind", &out_file])?;
    let run = cmd.output()?;
    let report = String::from_utf8_lossy(&run.stderr);
    if !run.status.success() {
        return Err(format!("callgrind: {report}").into());
    }
    Ok(report
        .lines()
        .find_map(|l| l.split("Collected : ").nth(1))
        .ok_or("no instruction count from callgrind")?
        .trim()
        .parse()?)
}
