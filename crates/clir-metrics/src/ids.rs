//! Interned query and document identifiers.

use std::hash::BuildHasher;

use hashbrown::HashTable;
use rustc_hash::FxBuildHasher;

/// A query id, interned in the [`Interner`] of the [`crate::Qrels`] or [`crate::Run`] that
/// holds it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct QueryId(pub u32);

/// One document entry of a [`crate::Qrels`] or [`crate::Run`]: the docno of one (query,
/// document) pair, named by `doc_name`. Docnos are not interned across queries (a docno judged
/// or retrieved for two queries has two ids): looking every line up in one table of millions
/// of docnos was most of the reading time, and evaluation only ever compares docnos within a
/// query.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct DocId(pub u32);

/// The docnos of the entries of a qrels or run, back to back in one buffer ([`DocId`] `i` is
/// name `i`): one allocation for all of them, none per line.
#[derive(Debug, Clone)]
pub(crate) struct DocNames {
    text: String,
    /// `offsets[i]..offsets[i + 1]` is name `i` in `text`.
    offsets: Vec<usize>,
}

impl Default for DocNames {
    fn default() -> Self {
        Self {
            text: String::new(),
            offsets: vec![0],
        }
    }
}

impl DocNames {
    /// An empty list with room for `names` names of `bytes` bytes in all.
    pub(crate) fn with_capacity(names: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(names + 1);
        offsets.push(0);
        Self {
            text: String::with_capacity(bytes),
            offsets,
        }
    }

    /// Appends `name`, returning its id.
    pub(crate) fn push(&mut self, name: &str) -> DocId {
        let id = DocId(u32::try_from(self.len()).expect("more than u32::MAX documents"));
        self.text.push_str(name);
        self.offsets.push(self.text.len());
        id
    }

    /// Appends all names of `other`; returns the id that its first name now has.
    pub(crate) fn append(&mut self, other: &DocNames) -> u32 {
        let first = u32::try_from(self.len()).expect("more than u32::MAX documents");
        let base = self.text.len();
        self.text.push_str(&other.text);
        self.offsets
            .extend(other.offsets[1..].iter().map(|&o| o + base));
        first
    }

    /// The name of `d`.
    ///
    /// # Panics
    /// If `d` does not belong to this list.
    pub(crate) fn get(&self, d: DocId) -> &str {
        slice(&self.text, &self.offsets, d.0)
    }

    /// The name of `d` as bytes (no char-boundary checks: for hashing and comparing).
    ///
    /// # Panics
    /// If `d` does not belong to this list.
    pub(crate) fn bytes(&self, d: DocId) -> &[u8] {
        let i = d.0 as usize;
        &self.text.as_bytes()[self.offsets[i]..self.offsets[i + 1]]
    }

    /// Bytes of all names together.
    pub(crate) fn text_len(&self) -> usize {
        self.text.len()
    }

    /// Number of names.
    pub(crate) fn len(&self) -> usize {
        self.offsets.len() - 1
    }
}

/// The hash of a docno (FxHash: short keys from trusted files).
pub(crate) fn hash(name: &[u8]) -> u64 {
    FxBuildHasher.hash_one(name)
}

/// A string interner: each distinct string gets a dense `u32`, in order of first appearance.
/// Names live back to back in one buffer and the hash table holds only ids, so interning a
/// known name never allocates and a new one allocates nothing per name.
#[derive(Debug, Clone)]
pub struct Interner {
    table: HashTable<u32>,
    text: String,
    /// `offsets[i]..offsets[i + 1]` is name `i` in `text`.
    offsets: Vec<usize>,
}

impl Default for Interner {
    fn default() -> Self {
        Self {
            table: HashTable::new(),
            text: String::new(),
            offsets: vec![0],
        }
    }
}

fn slice<'a>(text: &'a str, offsets: &[usize], id: u32) -> &'a str {
    &text[offsets[id as usize]..offsets[id as usize + 1]]
}

impl Interner {
    /// An empty interner.
    pub fn new() -> Self {
        Self::default()
    }

    /// Reserves room for `additional` more names (avoids rehashing while a file is read).
    pub fn reserve(&mut self, additional: usize) {
        let Interner {
            table,
            text,
            offsets,
        } = self;
        table.reserve(additional, |&id| {
            FxBuildHasher.hash_one(slice(text, offsets, id))
        });
        offsets.reserve(additional);
    }

    /// The id of `name`, adding it if new.
    pub fn intern(&mut self, name: &str) -> u32 {
        let Interner {
            table,
            text,
            offsets,
        } = self;
        let hash = FxBuildHasher.hash_one(name);
        if let Some(&id) = table.find(hash, |&id| slice(text, offsets, id) == name) {
            return id;
        }
        let id = u32::try_from(offsets.len() - 1).expect("more than u32::MAX distinct ids");
        text.push_str(name);
        offsets.push(text.len());
        table.insert_unique(hash, id, |&id| {
            FxBuildHasher.hash_one(slice(text, offsets, id))
        });
        id
    }

    /// The id of `name` if present.
    pub fn get(&self, name: &str) -> Option<u32> {
        let hash = FxBuildHasher.hash_one(name);
        self.table.find(hash, |&id| self.name(id) == name).copied()
    }

    /// The name of `id`.
    ///
    /// # Panics
    /// If `id` was not produced by this interner.
    pub fn name(&self, id: u32) -> &str {
        slice(&self.text, &self.offsets, id)
    }

    /// Number of distinct names.
    pub fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    /// Whether no name was interned.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn interns_densely() {
        let mut i = Interner::new();
        assert_eq!(i.intern("b"), 0);
        assert_eq!(i.intern("a"), 1);
        assert_eq!(i.intern("b"), 0);
        assert_eq!(i.get("a"), Some(1));
        assert_eq!(i.get("c"), None);
        assert_eq!(i.name(1), "a");
        assert_eq!(i.len(), 2);
        for k in 0..1000 {
            assert_eq!(i.intern(&format!("x{k}")), k + 2);
        }
        assert_eq!(i.name(500), "x498");
    }
}
