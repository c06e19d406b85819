//! The real terminal: raw mode and the alternate screen while the TUI runs,
//! and the terminal given back as it was on every way out: a normal exit,
//! an error (the guard's `Drop`), and a panic (the hook restores it before
//! anything is printed).

use std::io::{self, Stdout, stdout};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::Sender;
use std::sync::{Arc, Once};
use std::thread::JoinHandle;
use std::time::Duration;

use crossterm::cursor::{Hide, Show};
use crossterm::terminal::{
    EnterAlternateScreen, LeaveAlternateScreen, disable_raw_mode, enable_raw_mode,
};
use crossterm::{event, execute};
use ratatui::Terminal;
use ratatui::backend::CrosstermBackend;

use crate::channel::Message;

/// How long the reader waits for an event before it looks whether it must
/// stop. An event ends the wait at once: this bounds only how long the
/// reader takes to stop, never how long a key waits.
const STOP_SLICE: Duration = Duration::from_millis(50);

/// Whether the terminal is in the TUI's mode, so that restoring is done
/// exactly once whoever gets there first (guard or panic hook).
static ACTIVE: AtomicBool = AtomicBool::new(false);

/// Set by the panic hook: the UI thread stops drawing into a terminal that
/// has been given back.
static PANICKED: AtomicBool = AtomicBool::new(false);

static HOOK: Once = Once::new();

/// The terminal in TUI mode; restored when dropped.
pub struct Tui {
    pub terminal: Terminal<CrosstermBackend<Stdout>>,
}

impl Tui {
    pub fn enter() -> io::Result<Tui> {
        install_panic_hook();
        enable_raw_mode()?;
        ACTIVE.store(true, Ordering::SeqCst);
        // From here on a failure must restore what was changed.
        let terminal = execute!(stdout(), EnterAlternateScreen, Hide)
            .and_then(|()| Terminal::new(CrosstermBackend::new(stdout())));
        match terminal {
            Ok(terminal) => Ok(Tui { terminal }),
            Err(e) => {
                restore();
                Err(e)
            }
        }
    }

    /// Clears the whole screen and makes the next draw write every cell,
    /// so nothing of the screen before (a share) stays in a cell the next
    /// screen leaves alone. `Terminal::clear` would first ask the terminal
    /// where its cursor is, which some terminals never answer; a resize to
    /// the same size clears without asking.
    pub fn clear(&mut self) -> io::Result<()> {
        let size = self.terminal.size()?;
        self.terminal.resize(size.into())
    }

    /// True once a panic (on any thread) has restored the terminal.
    pub fn panicked() -> bool {
        PANICKED.load(Ordering::SeqCst)
    }
}

/// The terminal's reader: a thread that sends every terminal event to the
/// UI as a [`Message::Terminal`] the moment it arrives. Dropping it stops
/// the thread and waits for it, so that the next reader (a rehearsal runs
/// two ceremonies) gets every key typed after this one stopped.
pub struct Reader {
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Reader {
    pub fn spawn(to_ui: Sender<Message>) -> Reader {
        let stop = Arc::new(AtomicBool::new(false));
        let stopping = Arc::clone(&stop);
        let thread = std::thread::spawn(move || {
            while !stopping.load(Ordering::SeqCst) {
                match event::poll(STOP_SLICE) {
                    Ok(false) => continue,
                    // Left unread once stopping: it is the next reader's.
                    Ok(true) if stopping.load(Ordering::SeqCst) => return,
                    Ok(true) => {}
                    Err(e) => {
                        let _ = to_ui.send(Message::Terminal(Err(e)));
                        return;
                    }
                }
                let read = event::read();
                let failed = read.is_err();
                if to_ui.send(Message::Terminal(read)).is_err() || failed {
                    return;
                }
            }
        });
        Reader {
            stop,
            thread: Some(thread),
        }
    }
}

impl Drop for Reader {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::SeqCst);
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for Tui {
    fn drop(&mut self) {
        restore();
    }
}

fn restore() {
    if ACTIVE.swap(false, Ordering::SeqCst) {
        // Best effort: there is nothing better to do with a failure while
        // giving the terminal back.
        let _ = disable_raw_mode();
        let _ = execute!(stdout(), LeaveAlternateScreen, Show);
    }
}

/// Restores the terminal first, then says where the fault is. The panic's
/// message is printed only when it is a fixed text: a formatted message
/// could carry a value, and no value from a ceremony may reach the screen
/// or the scrollback unasked. Installed once per process (a rehearsal runs
/// two ceremonies); it replaces the default hook for the same reason.
fn install_panic_hook() {
    HOOK.call_once(|| {
        std::panic::set_hook(Box::new(|info| {
            PANICKED.store(true, Ordering::SeqCst);
            restore();
            let message = info
                .payload()
                .downcast_ref::<&'static str>()
                .copied()
                .unwrap_or("(message withheld: it could hold ceremony data)");
            let place = info
                .location()
                .map(|l| format!("{}:{}", l.file(), l.line()))
                .unwrap_or_else(|| "an unknown place".to_string());
            eprintln!(
                "keyceremony: internal error at {place}: {message}\nThe terminal has been restored. The ceremony log records every event before this one; report this to the tool's maintainers."
            );
        }));
    });
}
