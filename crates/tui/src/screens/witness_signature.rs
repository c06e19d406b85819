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
    action, banner, blank, field, hex_lines, indented, input_line, line, loud, paragraph, person,
    strong,
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

    pub fn view(&self, frame: &mut Frame, area: Rect) {
        let request = &self.request;
        let mut lines = vec![
            banner("THE WITNESS SIGNS THE SEAL ON THEIR OWN DEVICE", area.width),
            blank(),
            line(
                "The log-signing key has signed the statement and is destroyed; the token is logged out. Put the HSM into its new bag now and return it to the safe.",
            ),
            blank(),
            field("Statement", request.statement.display().to_string()),
            strong("Its SHA-256:"),
        ];
        lines.extend(hex_lines(&request.sha256));
        lines.push(strong("The same in PGP words:"));
        lines.extend(indented(&request.words, area.width, Style::new()));
        lines.push(blank());
        lines.push(line(format!(
            "{}: take the media to your own device, check that the statement's SHA-256 is the one above and its head the one on the screen, and sign it with your key (docs/auditor.md, \"Signing the seal\"). Write witness-signature.der and witness-public-key.pem beside the statement, and bring the media back. Never type your PIN here.",
            person(&self.witness)
        )));
        lines.push(field(
            "Your key's SHA-256, pinned by the script",
            request.witness_key_sha256.clone(),
        ));
        if let Some(refused) = &request.refused {
            lines.push(blank());
            lines.push(Line::styled(
                format!("The signature brought back was refused: {refused}"),
                loud(),
            ));
        }
        lines.push(blank());
        lines.push(line(
            "The witness's signature file (its public key beside it):",
        ));
        lines.push(input_line(&self.input));
        lines.push(blank());
        lines.push(action(
            "Enter",
            "check the signature against the witness's key and seal the log",
        ));
        frame.render_widget(paragraph(lines), area);
    }
}
