//! After a signal (SIGINT, SIGTERM, SIGHUP) the UI stops asking, and the
//! engine stops at its next safe point: at once between questions, or, when
//! the HSM is working (an RSA key generation takes minutes), once it has
//! finished, since a PKCS#11 call cut short leaves the token in a state the
//! log does not describe. This notice, drawn over the last screen, says so
//! while the tool waits.

use ratatui::Frame;

use crate::app::App;
use crate::format;
use crate::view::view;
use crate::widgets::{blank, boxed, line, strong};

/// The last screen with the notice of the stop over it.
pub fn notice(app: &App, signal: &str, frame: &mut Frame) {
    view(app, frame);
    let mut lines = vec![strong(format!(
        "{signal} received: the ceremony stops at its next safe point."
    ))];
    match &app.working {
        Some(working) => lines.extend([
            line(format!(
                "The HSM is {} ({} so far): the stop waits until it finishes, then the log records the interruption and the tool exits.",
                working.what,
                format::elapsed(app.now - working.since)
            )),
            blank(),
            strong("Do not switch off or disconnect the HSM while it works."),
        ]),
        None => lines.push(line(
            "The log records the interruption, and the tool exits.",
        )),
    }
    // Drawn over a screen that fits: the notice is short enough to fit too,
    // and if it does not, the screen under it still says the HSM works.
    let _ = boxed(frame, frame.area(), 70, "Stopping", lines);
}
