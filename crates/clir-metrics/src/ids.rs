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

/// The docnos of the entries of a qrels or run ([`DocId`] `i` is name `i`), back to back in a
/// few large buffers: no allocation per name. A file parsed in parallel chunks keeps one
/// segment per chunk, so joining the chunks moves buffers instead of copying every name again.
#[derive(Debug, Clone, Default)]
pub(crate) struct DocNames {
    segments: Vec<Segment>,
    /// `starts[s]` is the id of the first name of `segments[s]`.
    starts: Vec<u32>,
    /// `blocks[b]` is the segment of id `b << BLOCK_BITS`: finding the segment of an id is a
    /// lookup and a step or two, not a search (names are looked up in every hot loop).
    blocks: Vec<u32>,
}

/// Ids per entry of [`DocNames::blocks`].
const BLOCK_BITS: u32 = 12;

/// Names back to back in one buffer.
#[derive(Debug, Clone)]
struct Segment {
    text: String,
    /// `offsets[i]..offsets[i + 1]` is name `i` of the segment in `text`.
    offsets: Vec<u32>,
}

impl Segment {
    fn with_capacity(names: usize, bytes: usize) -> Self {
        let mut offsets = Vec::with_capacity(names + 1);
        offsets.push(0);
        Self {
            text: String::with_capacity(bytes),
            offsets,
        }
    }

    fn len(&self) -> usize {
        self.offsets.len() - 1
    }

    fn bytes(&self, i: usize) -> &[u8] {
        &self.text.as_bytes()[self.offsets[i] as usize..self.offsets[i + 1] as usize]
    }
}

impl DocNames {
    /// An empty list with room for `names` names of `bytes` bytes in all.
    pub(crate) fn with_capacity(names: usize, bytes: usize) -> Self {
        Self {
            segments: vec![Segment::with_capacity(names, bytes)],
            starts: vec![0],
            blocks: Vec::new(),
        }
    }

    /// Appends `name`, returning its id.
    pub(crate) fn push(&mut self, name: &str) -> DocId {
        let id = DocId(u32::try_from(self.len()).expect("more than u32::MAX documents"));
        // Offsets are `u32`: a segment that would outgrow them is closed and a new one begun.
        let full =
            (self.segments.last()).is_none_or(|s| s.text.len() + name.len() > u32::MAX as usize);
        if full {
            self.segments.push(Segment::with_capacity(0, 0));
            self.starts.push(id.0);
        }
        let segment = self
            .segments
            .last_mut()
            .expect("a segment was just ensured");
        segment.text.push_str(name);
        segment.offsets.push(segment.text.len() as u32);
        self.index_blocks();
        id
    }

    /// Appends all names of `other`, taking over its buffers; returns the id that its first
    /// name now has.
    pub(crate) fn append(&mut self, other: DocNames) -> u32 {
        let first = u32::try_from(self.len()).expect("more than u32::MAX documents");
        let mut next = first;
        for segment in other.segments {
            if segment.len() == 0 {
                continue;
            }
            let n = u32::try_from(segment.len()).expect("more than u32::MAX documents");
            self.starts.push(next);
            self.segments.push(segment);
            next = next.checked_add(n).expect("more than u32::MAX documents");
        }
        self.index_blocks();
        first
    }

    /// Extends [`DocNames::blocks`] to every block whose first id exists.
    fn index_blocks(&mut self) {
        let len = self.len();
        let mut s = self.blocks.last().map_or(0, |&s| s as usize);
        while self.blocks.len() << BLOCK_BITS < len {
            let first = (self.blocks.len() << BLOCK_BITS) as u32;
            while s + 1 < self.starts.len() && self.starts[s + 1] <= first {
                s += 1;
            }
            self.blocks.push(s as u32);
        }
    }

    /// The segment holding `d` and the index of `d` in it.
    #[inline]
    fn locate(&self, d: DocId) -> (&Segment, usize) {
        let mut s = self.blocks[(d.0 >> BLOCK_BITS) as usize] as usize;
        // Segments hold thousands of names (a chunk of a file each), so this rarely steps.
        while s + 1 < self.starts.len() && self.starts[s + 1] <= d.0 {
            s += 1;
        }
        (&self.segments[s], (d.0 - self.starts[s]) as usize)
    }

    /// The name of `d`.
    ///
    /// # Panics
    /// If `d` does not belong to this list.
    pub(crate) fn get(&self, d: DocId) -> &str {
        let (segment, i) = self.locate(d);
        &segment.text[segment.offsets[i] as usize..segment.offsets[i + 1] as usize]
    }

    /// The name of `d` as bytes (no char-boundary checks: for hashing and comparing).
    ///
    /// # Panics
    /// If `d` does not belong to this list.
    #[inline]
    pub(crate) fn bytes(&self, d: DocId) -> &[u8] {
        let (segment, i) = self.locate(d);
        segment.bytes(i)
    }

    /// Number of names.
    pub(crate) fn len(&self) -> usize {
        match (self.starts.last(), self.segments.last()) {
            (Some(&start), Some(segment)) => start as usize + segment.len(),
            _ => 0,
        }
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
    fn doc_names_join_segments_in_order() {
        let mut a = DocNames::default();
        assert_eq!(a.len(), 0);
        assert_eq!(a.push("d0"), DocId(0));
        assert_eq!(a.push(""), DocId(1));
        let mut b = DocNames::with_capacity(2, 8);
        b.push("x");
        b.push("yz");
        assert_eq!(a.append(DocNames::default()), 2);
        assert_eq!(a.append(b), 2);
        assert_eq!(a.push("w"), DocId(4));
        let names: Vec<&str> = (0..a.len() as u32).map(|i| a.get(DocId(i))).collect();
        assert_eq!(names, ["d0", "", "x", "yz", "w"]);
        assert_eq!(a.bytes(DocId(3)), b"yz");
        // Segments of every size, some empty, across many blocks of ids.
        let mut big = DocNames::default();
        let mut expected = Vec::new();
        for k in 0..300usize {
            let mut part = DocNames::with_capacity(0, 0);
            for i in 0..(k * 37 % 101) {
                part.push(&format!("{k}-{i}"));
                expected.push(format!("{k}-{i}"));
            }
            big.append(part);
            big.push(&format!("p{k}"));
            expected.push(format!("p{k}"));
        }
        assert_eq!(big.len(), expected.len());
        for (i, name) in expected.iter().enumerate() {
            assert_eq!(big.get(DocId(i as u32)), name);
        }
    }

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
