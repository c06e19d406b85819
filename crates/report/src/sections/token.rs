//! "HSM token": the token initialisation as requested and as done, or the
//! existing token the ceremony worked on.

use crate::context::{Ctx, key_values, str_at};
use crate::doc::{Block, para};

pub(crate) fn section(ctx: &Ctx<'_>) -> Vec<Block> {
    let mut blocks = vec![Block::Heading(2, "HSM token".to_string())];
    let mut any = false;
    for e in ctx
        .entries
        .iter()
        .filter(|e| e.kind == "token-init-requested" || e.kind == "token-initialized")
    {
        any = true;
        blocks.push(Block::Heading(
            3,
            format!("Entry {} ({}): {}", e.seq, e.kind, e.time),
        ));
        blocks.push(para(&e.description));
        blocks.push(key_values(&e.data));
    }
    if !any {
        let label = ctx
            .start()
            .and_then(|e| str_at(&e.data, "token_label"))
            .unwrap_or("-");
        blocks.push(para(format!(
            "The ceremony did not initialise a token; it worked on the existing token '{label}'."
        )));
    }
    blocks
}
