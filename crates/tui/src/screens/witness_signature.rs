//! The seal statement is on the removable media and the log-signing key
//! has signed it and is destroyed; the token is logged out. The HSM goes
//! into its bag, and the witness takes the media to their own device,
//! signs the statement there (docs/auditor.md, "Signing the seal") and
//! brings the media back: the operator then enters where the signature is.
//! The witness's PIN is never typed here.

use crossterm::event::KeyEvent;
use keyceremony_engine::SignatureRequest;
use keyceremony_script::Participant;
use ratatui::Frame;
use ratatui::layout::Rect;
use ratatui::style::Style;
use ratatui::text::Line;

use crate::channel::{Answer, Reply};
use crate::input::TextInput;
use crate::widgets::{
    action, banner, field, hex_lines, indented, input_line, line, loud, person, show, strong,
};

pub struct WitnessSignature {
    pub witness: Participant,
    pub request: SignatureRequest,
    pub input: TextInput,
}

impl WitnessSignature {
    pub fn new(witness: Participant, request: SignatureRequest) -> WitnessSignature {
        let input = TextInput::with_text(&request.signature.display().to_string());
        WitnessSignature {
            witness,
            request,
            input,
        }
    }

    pub fn key(&mut self, key: KeyEvent) -> Option<Reply> {
        self.input.key(key).map(|path| Ok(Answer::Text(path)))
    }

    /// Fits 80x24 with the refusal shown: the room reads it all at once.
    /// False, with nothing drawn, when the area is too small for it.
    #[must_use]
    pub fn view(&self, frame: &mut Frame, area: Rect) -> bool {
        let request = &self.request;
        let mut lines = vec![banner(
            "THE WITNESS SIGNS THE SEAL ON THEIR OWN DEVICE",
            area.width,
        )];
        // A refusal takes the place of what the witness has already read
        // and done once (the HSM bagged, the words, the instructions), so
        // that the screen still fits 80x24 with it.
        match &request.refused {
            None => {
                lines.extend([
                    line("Log-signing key destroyed, token logged out: put the HSM into its new bag now."),
                    field("Statement", request.statement.display().to_string()),
                    strong("Its SHA-256, and in PGP words:"),
                ]);
                lines.extend(hex_lines(&request.sha256));
                lines.extend(indented(&request.words, area.width, Style::new()));
                lines.push(line(format!(
                    "{}: on your own device, check this SHA-256 and the statement's head, sign it (docs/auditor.md, \"Signing the seal\"), put witness-signature.der and witness-public-key.pem beside it, and bring the media back. Never type your PIN here.",
                    person(&self.witness)
                )));
            }
            Some(refused) => {
                lines.extend([
                    field("Statement", request.statement.display().to_string()),
                    strong("Its SHA-256:"),
                ]);
                lines.extend(hex_lines(&request.sha256));
                lines.push(Line::styled(
                    format!("The signature brought back was refused: {refused}"),
                    loud(),
                ));
                lines.push(line(format!(
                    "{}: sign again on your own device and bring the media back. Never type your PIN here.",
                    self.witness.name
                )));
            }
        }
        lines.push(strong("The witness's signature file:"));
        lines.push(input_line(&self.input));
        lines.push(action(
            "Enter",
            "check it against the key the script pins, and seal the log",
        ));
        show(frame, area, lines)
    }
}
