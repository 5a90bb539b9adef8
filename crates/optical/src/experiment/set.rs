//! The columns of a grid: a collection, with its queries as they are or corrupted by query noise
//! at one rate (see [`NoiseGrid`](super::NoiseGrid)).

use std::fmt;

use crate::data::CollectionSpec;

/// One evaluated set: a collection and, in a noise grid, the noise rate of its queries.
///
/// Displayed as the collection (`afriqa:hau:test`) or, with noise, the collection and the rate
/// (`afriqa:hau:test@0.1`); rate 0 is the clean point of a noise curve.
#[derive(Debug, Clone, PartialEq)]
pub struct EvalSet {
    /// The collection.
    pub base: CollectionSpec,
    /// The query-noise rate, in a noise grid.
    pub noise_rate: Option<f64>,
}

impl EvalSet {
    /// The clean collection.
    pub fn clean(base: CollectionSpec) -> Self {
        Self {
            base,
            noise_rate: None,
        }
    }

    /// The language of the queries.
    pub fn language(&self) -> &str {
        self.base.language()
    }

    /// The document pool (noise touches queries only).
    pub fn corpus_key(&self) -> String {
        self.base.corpus_key()
    }

    /// A file-name-safe form of [`Display`](fmt::Display): `afriqa-hau-test-noise0.1`.
    pub fn slug(&self) -> String {
        match self.noise_rate {
            None => self.base.slug(),
            Some(r) => format!("{}-noise{r}", self.base.slug()),
        }
    }
}

impl fmt::Display for EvalSet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.base)?;
        if let Some(r) = self.noise_rate {
            write!(f, "@{r}")?;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_slugs() {
        let base: CollectionSpec = "afriqa:hau".parse().unwrap();
        let clean = EvalSet::clean(base.clone());
        assert_eq!(clean.to_string(), "afriqa:hau:test");
        assert_eq!(clean.slug(), "afriqa-hau-test");
        let noisy = EvalSet {
            base,
            noise_rate: Some(0.1),
        };
        assert_eq!(noisy.to_string(), "afriqa:hau:test@0.1");
        assert_eq!(noisy.slug(), "afriqa-hau-test-noise0.1");
        assert_eq!(noisy.corpus_key(), clean.corpus_key());
        assert_eq!(noisy.language(), "hau");
    }
}
