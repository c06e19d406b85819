//! keyceremony-tui: the operator TUI, one more driver of the engine's
//! [`Operator`](keyceremony_engine::Operator) trait.
//!
//! The engine runs on a worker thread with a [`ChannelOperator`], which
//! turns each question into a [`Request`] for the UI thread and blocks until
//! it is answered. A second thread reads the terminal into the same
//! channel. The UI thread owns the [`App`] state and loops: draw with
//! [`view`], then wait on the channel until a message comes (a key, a
//! prompt or a notice from the engine) or the next tick is due, feed
//! [`update`] with it and with whatever else has queued up, and send back
//! the answer `update` returns: a screen changes as soon as its cause
//! arrives, with no polling delay.
//! State, update and view are kept apart, so every screen can be driven and
//! checked with ratatui's `TestBackend`. Each screen is a module of
//! `screens` holding its state, its keys and its drawing; `frame` draws what
//! is around every screen (header, footer, step list, dialogs), `widgets`
//! the pieces they are drawn with. No ceremony logic lives here: the
//! engine decides, logs and refuses; the TUI asks, shows and passes answers.

mod app;
mod channel;
mod explain;
mod format;
mod frame;
mod input;
mod screens;
mod step_list;
mod terminal;
mod view;
mod widgets;

use std::io::IsTerminal;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::{self, Receiver, RecvTimeoutError, Sender};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use chrono::Utc;
use crossterm::event::{Event as TermEvent, KeyEventKind};
use keyceremony_engine::{Ceremony, EngineError, Outcome, Settings};
use keyceremony_script::LoadedScript;

pub use app::{App, Event, Phase, Reported, StepEntry, Working, update};
pub use channel::{Answer, ChannelOperator, Message, Prompt, Reply, Request};
pub use explain::{Explained, Finished, explain};
pub use format::pgp_words;
pub use frame::{AbortForm, Overlay};
pub use screens::Active;
pub use screens::end_of_step::{EndAsks, ExceptionForm, ExceptionStage, StepForm};
pub use screens::share_show::ShareStage;
pub use screens::start::{Checked, StartInfo};
pub use view::view;

/// How often the screen is redrawn while nothing happens: the clock, the
/// spinner and the HSM's elapsed time show the room the tool is alive. A
/// signal is noticed at the latest one tick after it came.
const TICK: Duration = Duration::from_millis(250);

#[derive(Debug, thiserror::Error)]
pub enum TuiError {
    #[error(
        "the operator TUI needs a terminal on standard input and output; for a headless run use --answers FILE (rehearsal answers are in ceremony-scripts/rehearsal/)"
    )]
    NotATerminal,
    #[error("the terminal failed: {0}")]
    Terminal(#[from] std::io::Error),
    #[error(transparent)]
    Engine(#[from] EngineError),
    #[error("the operators left before the ceremony started; nothing was written")]
    NotStarted,
    #[error("the ceremony engine stopped on an internal error; see the message above")]
    Panicked,
    #[error(
        "interrupted by {0}: the ceremony log records where it stopped. Run the same `keyceremony run` command on the same --out folder to resume or abort it"
    )]
    Interrupted(String),
}

/// True when both standard input and output are a terminal.
pub fn is_terminal() -> bool {
    std::io::stdin().is_terminal() && std::io::stdout().is_terminal()
}

/// Refuses to start without a terminal, before anything is checked or loaded.
pub fn check_terminal() -> Result<(), TuiError> {
    if is_terminal() {
        Ok(())
    } else {
        Err(TuiError::NotATerminal)
    }
}

/// The engine's thread and its messages. The thread prepares the ceremony
/// (asking the room through the UI if it must), reports [`Checked`], waits
/// for the operators to begin, and runs it. Dropping a `Worker` stops
/// listening first (so the engine's next question fails as an abort instead
/// of blocking), withdraws the go-ahead, and then waits for the thread, so
/// its last log entry is written before the process can exit.
struct Worker {
    from_engine: Option<Receiver<Message>>,
    go: Option<Sender<()>>,
    thread: Option<JoinHandle<()>>,
    /// Raised while the engine's run may write to the log: from the
    /// go-ahead until it returns, unless it stopped before writing.
    writing: Arc<AtomicBool>,
}

impl Worker {
    fn spawn(
        script: LoadedScript,
        settings: Settings,
        to_ui: Sender<Message>,
        from_engine: Receiver<Message>,
    ) -> Worker {
        let (go, wait) = mpsc::channel::<()>();
        let writing = Arc::new(AtomicBool::new(false));
        let wrote = Arc::clone(&writing);
        let thread = std::thread::spawn(move || {
            let mut operator = ChannelOperator::new(to_ui.clone());
            let ceremony = match Ceremony::prepare(script, settings, &mut operator) {
                Ok(ceremony) => ceremony,
                Err(error) => {
                    let _ = to_ui.send(Message::Finished(Err(error)));
                    return;
                }
            };
            let _ = to_ui.send(Message::Ready(Checked::gather(&ceremony)));
            // No go-ahead (the operators left the start screen): nothing
            // has been written, so there is nothing to record.
            if wait.recv().is_err() {
                return;
            }
            wrote.store(true, Ordering::SeqCst);
            let result = ceremony.run(&mut operator);
            if let Err(EngineError::InterruptedBeforeStart { .. }) = result {
                wrote.store(false, Ordering::SeqCst);
            }
            let _ = to_ui.send(Message::Finished(result));
        });
        Worker {
            from_engine: Some(from_engine),
            go: Some(go),
            thread: Some(thread),
            writing,
        }
    }

    fn begin(&self) {
        if let Some(go) = &self.go {
            let _ = go.send(());
        }
    }
}

impl Drop for Worker {
    fn drop(&mut self) {
        drop(self.from_engine.take());
        drop(self.go.take());
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Sends the answer to the open question. The question is kept open until
/// it has an answer: a notice that arrives meanwhile leaves it alone.
fn send(pending: &mut Option<Sender<Reply>>, reply: Reply) {
    if let Some(sender) = pending.take() {
        // The engine stops listening only when it has stopped; its result
        // is on its way, so a failed send loses nothing.
        let _ = sender.send(reply);
    }
}

/// Feeds one message to [`update`], and sends the answer it completed.
fn dispatch(
    app: &mut App,
    pending: &mut Option<Sender<Reply>>,
    result: &mut Option<Result<Outcome, EngineError>>,
    message: Message,
) -> Result<(), TuiError> {
    let reply = match message {
        Message::Ready(checked) => update(app, Event::Ready(checked)),
        Message::Request(request) => {
            let Request { prompt, reply } = *request;
            *pending = Some(reply);
            update(app, Event::Prompt(Box::new(prompt)))
        }
        Message::Notice(notice) => update(app, Event::Notice(notice)),
        Message::Finished(finished) => {
            let event = Event::Finished(Finished::from_result(&finished));
            *result = Some(finished);
            update(app, event)
        }
        Message::Terminal(event) => match event? {
            TermEvent::Key(key) if key.kind == KeyEventKind::Press => update(app, Event::Key(key)),
            TermEvent::Resize(_, _) => update(app, Event::Resize),
            _ => None,
        },
    };
    // Answered at once (an abort, or a verdict already given): the next
    // message is the engine's reaction to it.
    if let Some(reply) = reply {
        send(pending, reply);
    }
    Ok(())
}

/// Runs a ceremony in the operator TUI: the start screen while the engine
/// checks the output folder, the module and the token, then every step,
/// and the last screen, which waits for a key. The terminal is restored on
/// every way out. Returns the engine's outcome, or its error after the
/// error screen.
pub fn run(script: LoadedScript, settings: Settings) -> Result<Outcome, TuiError> {
    check_terminal()?;
    let info = StartInfo::new(&script, &settings);
    let mut app = App::new(info, &script.script, Utc::now());
    let stop = settings.stop.clone();
    let mut tui = terminal::Tui::enter()?;
    let (to_ui, from_engine) = mpsc::channel();
    let worker = Worker::spawn(script, settings, to_ui.clone(), from_engine);
    let reader = terminal::Reader::spawn(to_ui);
    // Declared after `worker`, so it is dropped first on every way out: the
    // engine's open question then fails instead of waiting for ever.
    let mut pending: Option<Sender<Reply>> = None;
    let mut result: Option<Result<Outcome, EngineError>> = None;
    let mut last_tick = Instant::now();
    let looped = (|| -> Result<(), TuiError> {
        loop {
            if terminal::Tui::panicked() {
                return Err(TuiError::Panicked);
            }
            // A signal: the UI stops asking, so the engine's open question
            // fails and it records the interruption (keyceremony_engine::Stop).
            if stop.requested().is_some() {
                return Ok(());
            }
            if app.take_clear() {
                tui.clear()?;
            }
            tui.terminal.draw(|frame| view(&app, frame))?;
            if app.exit() {
                return Ok(());
            }
            if app.take_begin() {
                worker.begin();
            }
            let Some(from_engine) = worker.from_engine.as_ref() else {
                return Ok(());
            };
            let next_tick = (last_tick + TICK).saturating_duration_since(Instant::now());
            match from_engine.recv_timeout(next_tick) {
                // Everything that queued up meanwhile goes in before the
                // next draw, in the order it came.
                Ok(message) => {
                    for message in std::iter::once(message).chain(from_engine.try_iter()) {
                        dispatch(&mut app, &mut pending, &mut result, message)?;
                    }
                }
                Err(RecvTimeoutError::Timeout) => {}
                // The engine and the reader both ended, the reader without
                // a terminal error: one of them panicked, and the hook has
                // restored the terminal (the engine's panic is also seen
                // at the next tick, above).
                Err(RecvTimeoutError::Disconnected) if result.is_none() => {
                    return Err(TuiError::Panicked);
                }
                Err(RecvTimeoutError::Disconnected) => return Ok(()),
            }
            if last_tick.elapsed() >= TICK {
                last_tick = Instant::now();
                update(&mut app, Event::Tick(Utc::now()));
            }
        }
    })();
    drop(reader);
    drop(pending);
    // A signal: the room is told what the stop waits for before it waits
    // (a hangup may have taken the terminal away: nothing to do then).
    if let Some(signal) = stop.requested() {
        let _ = tui
            .terminal
            .draw(|frame| screens::stopping::notice(&app, &signal, frame));
    }
    let writing = Arc::clone(&worker.writing);
    // Waits for the engine's last entry (after a PKCS#11 call that was
    // running, when there is one).
    drop(worker);
    drop(tui);
    // After a signal a terminal error is the signal's doing (a hangup takes
    // the terminal away), so the signal is what the operators are told, and
    // whether the log has a record of it.
    if let Some(signal) = stop.requested() {
        return Err(if writing.load(Ordering::SeqCst) {
            TuiError::Interrupted(signal)
        } else {
            TuiError::Engine(EngineError::InterruptedBeforeStart { signal })
        });
    }
    looped?;
    match result {
        Some(Ok(outcome)) => Ok(outcome),
        Some(Err(error)) => Err(TuiError::Engine(error)),
        None => Err(TuiError::NotStarted),
    }
}
