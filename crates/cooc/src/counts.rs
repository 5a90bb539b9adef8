//! Sentence-level co-occurrence counting into a compact sparse table (CSR by source id).
//!
//! For every sentence pair, each distinct (source type, target type) pair is counted once
//! (`c(s, t)` = number of pairs in which both occur), and the marginals `c(s)`, `c(t)` are the
//! number of pairs in which the type occurs. With [`Window::Diagonal`] only token pairs at
//! relative positions `|i/m − j/n| ≤ width` count (still once per pair and type pair).
//!
//! Counting is chunked. For sentence windows a chunk is counted like a sparse product
//! `Xᵀ Y` of its binary incidence matrices, row by row (Gustavson): the distinct types of each
//! pair go into flat arrays (no allocation per pair), an inverted index lists the pairs of
//! each source type, and each source row is accumulated into a dense per-thread counter over
//! target ids; rows are split between rayon threads, and each thread merges the chunk's sorted
//! row into the counter's row of that source type (a sorted `(target, count)` list), so no
//! step between chunks is serial. Diagonal windows emit and sort the keys of each pair and
//! merge the chunk's run into the rows, again in parallel by row. Memory is bounded by the
//! distinct pairs (8 bytes each) plus one chunk.

use rayon::prelude::*;

use crate::{Error, Result, SrcTokenId, TgtTokenId};

/// Which token pairs of a sentence pair co-occur.
#[derive(Debug, Clone, Copy, PartialEq, Default)]
pub enum Window {
    /// Every source type with every target type of the pair.
    #[default]
    Sentence,
    /// Only tokens at positions `i` (of `m`) and `j` (of `n`) with
    /// `|(i + ½)/m − (j + ½)/n| ≤ width`.
    Diagonal {
        /// Relative width in `[0, 1]`.
        width: f32,
    },
}

/// Options of counting and pruning.
#[derive(Debug, Clone, PartialEq)]
pub struct CountOptions {
    /// Co-occurrence counts below this are dropped (marginals are kept).
    pub min_count: u32,
    /// Keep only the `k` most frequent targets of each source type.
    pub top_k: Option<usize>,
    /// Positional window.
    pub window: Window,
    /// Sentence pairs per parallel chunk.
    pub chunk_size: usize,
}

impl Default for CountOptions {
    fn default() -> Self {
        Self {
            min_count: 1,
            top_k: None,
            window: Window::Sentence,
            chunk_size: 1 << 16,
        }
    }
}

impl CountOptions {
    /// Validates the options.
    pub fn check(&self) -> Result<()> {
        if self.chunk_size == 0 {
            return Err(Error::InvalidParameter {
                name: "chunk_size",
                reason: "must be positive".into(),
            });
        }
        if self.top_k == Some(0) {
            return Err(Error::InvalidParameter {
                name: "top_k",
                reason: "must be positive".into(),
            });
        }
        if let Window::Diagonal { width } = self.window
            && !(0.0..=1.0).contains(&width)
        {
            return Err(Error::InvalidParameter {
                name: "window",
                reason: format!("width {width} outside [0, 1]"),
            });
        }
        Ok(())
    }
}

/// Memory held by a [`CoocTable`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MemoryReport {
    /// Stored (source, target) pairs.
    pub nnz: usize,
    /// Bytes of the CSR arrays (row pointers, columns, counts).
    pub table_bytes: usize,
    /// Bytes of the two marginal vectors.
    pub marginal_bytes: usize,
}

/// Sparse co-occurrence counts with marginals; rows are source ids, columns target ids, both
/// sorted.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct CoocTable {
    pub(crate) n_pairs: u64,
    pub(crate) src_marginals: Vec<u32>,
    pub(crate) tgt_marginals: Vec<u32>,
    pub(crate) row_ptr: Vec<u64>,
    pub(crate) cols: Vec<u32>,
    pub(crate) counts: Vec<u32>,
}

impl CoocTable {
    /// Counts an in-memory corpus of id sequences (convenience over [`Counter`]).
    pub fn from_pairs<S: AsRef<[u32]> + Sync, T: AsRef<[u32]> + Sync>(
        pairs: &[(S, T)],
        options: &CountOptions,
    ) -> Result<Self> {
        options.check()?;
        let mut c = Counter::new(options.window);
        for chunk in pairs.chunks(options.chunk_size) {
            c.add(chunk);
        }
        Ok(c.finish(options))
    }

    /// Number of sentence pairs counted.
    pub fn n_pairs(&self) -> u64 {
        self.n_pairs
    }

    /// `c(s)`: pairs whose source side contains `s`.
    pub fn src_count(&self, s: SrcTokenId) -> u32 {
        self.src_marginals.get(s.0 as usize).copied().unwrap_or(0)
    }

    /// `c(t)`: pairs whose target side contains `t`.
    pub fn tgt_count(&self, t: TgtTokenId) -> u32 {
        self.tgt_marginals.get(t.0 as usize).copied().unwrap_or(0)
    }

    /// Source marginals indexed by id.
    pub fn src_marginals(&self) -> &[u32] {
        &self.src_marginals
    }

    /// Target marginals indexed by id.
    pub fn tgt_marginals(&self) -> &[u32] {
        &self.tgt_marginals
    }

    /// Index into the CSR arrays of `(s, t)`, if stored.
    #[inline]
    pub(crate) fn index(&self, s: u32, t: u32) -> Option<usize> {
        let s = s as usize;
        if s + 1 >= self.row_ptr.len() {
            return None;
        }
        let (lo, hi) = (self.row_ptr[s] as usize, self.row_ptr[s + 1] as usize);
        self.cols[lo..hi].binary_search(&t).ok().map(|k| lo + k)
    }

    /// `c(s, t)`: pairs containing both (0 if never seen or pruned).
    pub fn count(&self, s: SrcTokenId, t: TgtTokenId) -> u32 {
        self.index(s.0, t.0).map_or(0, |k| self.counts[k])
    }

    /// The stored targets of `s` and their counts.
    pub fn row(&self, s: SrcTokenId) -> (&[u32], &[u32]) {
        let s = s.0 as usize;
        if s + 1 >= self.row_ptr.len() {
            return (&[], &[]);
        }
        let (lo, hi) = (self.row_ptr[s] as usize, self.row_ptr[s + 1] as usize);
        (&self.cols[lo..hi], &self.counts[lo..hi])
    }

    /// Number of source rows (one more than the largest source id seen).
    pub fn n_rows(&self) -> usize {
        self.row_ptr.len().saturating_sub(1)
    }

    /// Number of stored pairs.
    pub fn nnz(&self) -> usize {
        self.cols.len()
    }

    /// Every stored `(s, t, c(s, t))`, in (s, t) order.
    pub fn iter(&self) -> impl Iterator<Item = (SrcTokenId, TgtTokenId, u32)> + '_ {
        (0..self.n_rows()).flat_map(move |s| {
            let (lo, hi) = (self.row_ptr[s] as usize, self.row_ptr[s + 1] as usize);
            (lo..hi).map(move |k| {
                (
                    SrcTokenId(s as u32),
                    TgtTokenId(self.cols[k]),
                    self.counts[k],
                )
            })
        })
    }

    /// Bytes held.
    pub fn memory(&self) -> MemoryReport {
        MemoryReport {
            nnz: self.nnz(),
            table_bytes: self.row_ptr.len() * 8 + self.cols.len() * 4 + self.counts.len() * 4,
            marginal_bytes: (self.src_marginals.len() + self.tgt_marginals.len()) * 4,
        }
    }

    /// The same statistics with sides swapped (a transpose).
    pub fn transpose(&self) -> Self {
        let mut keys: Vec<(u64, u32)> = self
            .iter()
            .map(|(s, t, c)| ((u64::from(t.0) << 32) | u64::from(s.0), c))
            .collect();
        keys.par_sort_unstable_by_key(|k| k.0);
        let mut out = Self::from_sorted(keys, self.tgt_marginals.len());
        out.n_pairs = self.n_pairs;
        out.src_marginals = self.tgt_marginals.clone();
        out.tgt_marginals = self.src_marginals.clone();
        out
    }

    fn from_sorted(run: Vec<(u64, u32)>, n_rows: usize) -> Self {
        let n_rows = n_rows.max(run.last().map_or(0, |(k, _)| (k >> 32) as usize + 1));
        let mut row_ptr = vec![0u64; n_rows + 1];
        let mut cols = Vec::with_capacity(run.len());
        let mut counts = Vec::with_capacity(run.len());
        for (k, c) in run {
            row_ptr[(k >> 32) as usize + 1] += 1;
            cols.push(k as u32);
            counts.push(c);
        }
        for i in 0..n_rows {
            row_ptr[i + 1] += row_ptr[i];
        }
        Self {
            row_ptr,
            cols,
            counts,
            ..Self::default()
        }
    }
}

/// Incremental counter: feed chunks of id pairs with [`Counter::add`], then [`Counter::finish`].
#[derive(Debug, Default)]
pub struct Counter {
    window: Window,
    n_pairs: u64,
    src_marginals: Vec<u32>,
    tgt_marginals: Vec<u32>,
    /// The counts so far: for each source id, its `(target id, count)` sorted by target.
    rows: Vec<Vec<(u32, u32)>>,
}

/// Merges `new` (sorted by target, targets distinct) into `row`, adding the counts of equal
/// targets; `scratch` is a buffer reused between rows.
fn merge_row(
    row: &mut Vec<(u32, u32)>,
    new: impl ExactSizeIterator<Item = (u32, u32)>,
    scratch: &mut Vec<(u32, u32)>,
) {
    if row.is_empty() {
        row.extend(new);
        return;
    }
    scratch.clear();
    scratch.reserve(row.len() + new.len());
    let mut old = row.iter().copied().peekable();
    for (t, c) in new {
        while let Some(&(u, d)) = old.peek() {
            if u >= t {
                break;
            }
            scratch.push((u, d));
            old.next();
        }
        match old.peek() {
            Some(&(u, d)) if u == t => {
                scratch.push((t, c + d));
                old.next();
            }
            _ => scratch.push((t, c)),
        }
    }
    scratch.extend(old);
    std::mem::swap(row, scratch);
}

/// Splits `rows` into consecutive mutable slices at `bounds` (ascending, from 0 to its end),
/// each with the index of its first row.
fn split_rows<'a, R>(mut rows: &'a mut [R], bounds: &[usize]) -> Vec<(usize, &'a mut [R])> {
    let mut out = Vec::with_capacity(bounds.len().saturating_sub(1));
    for w in bounds.windows(2) {
        let (head, tail) = std::mem::take(&mut rows).split_at_mut(w[1] - w[0]);
        out.push((w[0], head));
        rows = tail;
    }
    out
}

/// Merges a sorted run `(s << 32) | t → count` into `rows`, in parallel by source id.
fn absorb_run(rows: &mut Vec<Vec<(u32, u32)>>, run: &[(u64, u32)]) {
    let n = run.last().map_or(0, |(k, _)| (k >> 32) as usize + 1);
    if rows.len() < n {
        rows.resize_with(n, Vec::new);
    }
    let mut starts = vec![0usize; n + 1];
    for (k, _) in run {
        starts[(k >> 32) as usize + 1] += 1;
    }
    for i in 0..n {
        starts[i + 1] += starts[i];
    }
    rows[..n]
        .par_iter_mut()
        .enumerate()
        .for_each_init(Vec::new, |scratch, (s, row)| {
            let segment = &run[starts[s]..starts[s + 1]];
            merge_row(row, segment.iter().map(|&(k, c)| (k as u32, c)), scratch);
        });
}

fn bump(v: &mut Vec<u32>, ids: &[u32]) {
    for &i in ids {
        let i = i as usize;
        if i >= v.len() {
            v.resize(i + 1, 0);
        }
        v[i] += 1;
    }
}

/// The distinct types of each pair of a chunk, sorted, in flat arrays: pair `p`'s source types
/// are `src[src_off[p]..src_off[p + 1]]`.
#[derive(Debug, Default)]
struct ChunkTypes {
    src: Vec<u32>,
    src_off: Vec<usize>,
    tgt: Vec<u32>,
    tgt_off: Vec<usize>,
}

impl ChunkTypes {
    fn push_sorted(flat: &mut Vec<u32>, ids: &[u32]) {
        let start = flat.len();
        flat.extend_from_slice(ids);
        let tail = &mut flat[start..];
        tail.sort_unstable();
        let mut w = 0;
        for r in 0..tail.len() {
            if w == 0 || tail[r] != tail[w - 1] {
                tail[w] = tail[r];
                w += 1;
            }
        }
        flat.truncate(start + w);
    }

    fn of<S: AsRef<[u32]>, T: AsRef<[u32]>>(pairs: &[(S, T)]) -> Self {
        let mut c = Self {
            src_off: vec![0],
            tgt_off: vec![0],
            ..Self::default()
        };
        for (s, t) in pairs {
            Self::push_sorted(&mut c.src, s.as_ref());
            c.src_off.push(c.src.len());
            Self::push_sorted(&mut c.tgt, t.as_ref());
            c.tgt_off.push(c.tgt.len());
        }
        c
    }

    /// Concatenates the parts of consecutive sub-chunks.
    fn concat(parts: Vec<Self>) -> Self {
        let mut c = Self {
            src_off: vec![0],
            tgt_off: vec![0],
            ..Self::default()
        };
        for p in parts {
            let (ds, dt) = (c.src.len(), c.tgt.len());
            c.src.extend_from_slice(&p.src);
            c.tgt.extend_from_slice(&p.tgt);
            c.src_off.extend(p.src_off[1..].iter().map(|o| o + ds));
            c.tgt_off.extend(p.tgt_off[1..].iter().map(|o| o + dt));
        }
        c
    }

    fn tgt_types(&self, p: usize) -> &[u32] {
        &self.tgt[self.tgt_off[p]..self.tgt_off[p + 1]]
    }
}

/// Adds the sentence-window counts of one chunk to `rows` (see the module docs).
fn count_sentence_chunk(types: &ChunkTypes, rows: &mut Vec<Vec<(u32, u32)>>) {
    let n_src = types.src.iter().max().map_or(0, |&m| m as usize + 1);
    let n_tgt = types.tgt.iter().max().map_or(0, |&m| m as usize + 1);
    if rows.len() < n_src {
        rows.resize_with(n_src, Vec::new);
    }
    // Inverted index: the pairs holding each source type (CSR by source id).
    let mut post_ptr = vec![0usize; n_src + 1];
    for &s in &types.src {
        post_ptr[s as usize + 1] += 1;
    }
    for i in 0..n_src {
        post_ptr[i + 1] += post_ptr[i];
    }
    let mut fill = post_ptr.clone();
    let mut postings = vec![0u32; types.src.len()];
    for p in 0..types.src_off.len() - 1 {
        for &s in &types.src[types.src_off[p]..types.src_off[p + 1]] {
            postings[fill[s as usize]] = p as u32;
            fill[s as usize] += 1;
        }
    }
    drop(fill);
    // Row ranges of roughly equal work (target tokens visited) for the threads.
    let work: usize = types.src.len().max(1);
    let n_jobs = rayon::current_num_threads().max(1) * 4;
    let per = work.div_ceil(n_jobs).max(1);
    let mut bounds = vec![0usize];
    for s in 0..n_src {
        if post_ptr[s + 1] - post_ptr[*bounds.last().unwrap_or(&0)] >= per {
            bounds.push(s + 1);
        }
    }
    if bounds.last() != Some(&n_src) {
        bounds.push(n_src);
    }
    split_rows(&mut rows[..n_src], &bounds)
        .into_par_iter()
        .for_each(|(first, rows)| {
            let mut acc = vec![0u32; n_tgt];
            let mut touched: Vec<u32> = Vec::new();
            let mut scratch = Vec::new();
            for (s, row) in (first..).zip(rows.iter_mut()) {
                for &p in &postings[post_ptr[s]..post_ptr[s + 1]] {
                    for &t in types.tgt_types(p as usize) {
                        let a = &mut acc[t as usize];
                        if *a == 0 {
                            touched.push(t);
                        }
                        *a += 1;
                    }
                }
                touched.sort_unstable();
                let counts = touched
                    .iter()
                    .map(|&t| (t, std::mem::take(&mut acc[t as usize])));
                merge_row(row, counts, &mut scratch);
                touched.clear();
            }
        });
}

/// Appends the distinct keys of one sentence pair under a diagonal window of `width`.
fn emit_diagonal_keys(src: &[u32], tgt: &[u32], width: f32, out: &mut Vec<u64>) {
    let (m, n) = (src.len() as f32, tgt.len() as f32);
    let start = out.len();
    for (i, &a) in src.iter().enumerate() {
        let x = (i as f32 + 0.5) / m;
        for (j, &b) in tgt.iter().enumerate() {
            if (x - (j as f32 + 0.5) / n).abs() <= width {
                out.push((u64::from(a) << 32) | u64::from(b));
            }
        }
    }
    let tail = &mut out[start..];
    tail.sort_unstable();
    let mut w = 0;
    for r in 0..tail.len() {
        if r == 0 || tail[r] != tail[w - 1] {
            tail[w] = tail[r];
            w += 1;
        }
    }
    out.truncate(start + w);
}

fn rle(mut keys: Vec<u64>) -> Vec<(u64, u32)> {
    keys.sort_unstable();
    let mut out: Vec<(u64, u32)> = Vec::with_capacity(keys.len() / 2);
    for k in keys {
        match out.last_mut() {
            Some((last, c)) if *last == k => *c += 1,
            _ => out.push((k, 1)),
        }
    }
    out
}

impl Counter {
    /// A counter with the given window.
    pub fn new(window: Window) -> Self {
        Self {
            window,
            ..Self::default()
        }
    }

    /// Sentence pairs counted so far.
    pub fn n_pairs(&self) -> u64 {
        self.n_pairs
    }

    /// Counts one chunk of id pairs (in parallel).
    pub fn add<S: AsRef<[u32]> + Sync, T: AsRef<[u32]> + Sync>(&mut self, pairs: &[(S, T)]) {
        let window = self.window;
        let n_jobs = rayon::current_num_threads().max(1) * 4;
        let per = pairs.len().div_ceil(n_jobs).max(256);
        let types = ChunkTypes::concat(pairs.par_chunks(per).map(ChunkTypes::of).collect());
        bump(&mut self.src_marginals, &types.src);
        bump(&mut self.tgt_marginals, &types.tgt);
        self.n_pairs += pairs.len() as u64;
        match window {
            Window::Sentence => count_sentence_chunk(&types, &mut self.rows),
            Window::Diagonal { width } => {
                let runs: Vec<_> = pairs
                    .par_chunks(per)
                    .map(|sub| {
                        let mut keys = Vec::new();
                        for (s, t) in sub {
                            emit_diagonal_keys(s.as_ref(), t.as_ref(), width, &mut keys);
                        }
                        rle(keys)
                    })
                    .collect();
                for run in &runs {
                    absorb_run(&mut self.rows, run);
                }
            }
        }
    }

    /// Merges, prunes and builds the table.
    pub fn finish(self, options: &CountOptions) -> CoocTable {
        let n_rows = self.src_marginals.len().max(self.rows.len());
        let kept = |&&(_, c): &&(u32, u32)| c >= options.min_count;
        let nnz = self.rows.iter().flatten().filter(kept).count();
        let mut row_ptr = Vec::with_capacity(n_rows + 1);
        row_ptr.push(0u64);
        let (mut cols, mut counts) = (Vec::with_capacity(nnz), Vec::with_capacity(nnz));
        for row in &self.rows {
            for &(t, c) in row.iter().filter(kept) {
                cols.push(t);
                counts.push(c);
            }
            row_ptr.push(cols.len() as u64);
        }
        row_ptr.resize(n_rows + 1, cols.len() as u64);
        let mut table = CoocTable {
            row_ptr,
            cols,
            counts,
            ..CoocTable::default()
        };
        if let Some(k) = options.top_k {
            table = prune_top_k(table, k);
        }
        table.n_pairs = self.n_pairs;
        table.src_marginals = self.src_marginals;
        table.tgt_marginals = self.tgt_marginals;
        table
    }
}

/// Keeps the `k` largest counts of each row (ties: smaller target id first).
fn prune_top_k(table: CoocTable, k: usize) -> CoocTable {
    let rows: Vec<(Vec<u32>, Vec<u32>)> = (0..table.n_rows())
        .into_par_iter()
        .map(|s| {
            let (lo, hi) = (table.row_ptr[s] as usize, table.row_ptr[s + 1] as usize);
            if hi - lo <= k {
                return (table.cols[lo..hi].to_vec(), table.counts[lo..hi].to_vec());
            }
            let mut idx: Vec<usize> = (lo..hi).collect();
            idx.sort_by(|&a, &b| table.counts[b].cmp(&table.counts[a]).then(a.cmp(&b)));
            idx.truncate(k);
            idx.sort_unstable();
            (
                idx.iter().map(|&i| table.cols[i]).collect(),
                idx.iter().map(|&i| table.counts[i]).collect(),
            )
        })
        .collect();
    let mut row_ptr = Vec::with_capacity(rows.len() + 1);
    row_ptr.push(0u64);
    let (mut cols, mut counts) = (Vec::new(), Vec::new());
    for (c, n) in rows {
        cols.extend(c);
        counts.extend(n);
        row_ptr.push(cols.len() as u64);
    }
    CoocTable {
        row_ptr,
        cols,
        counts,
        ..table
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_once_per_pair() {
        let pairs = vec![(vec![0, 1, 1], vec![5, 5, 6]), (vec![1], vec![6])];
        let t = CoocTable::from_pairs(&pairs, &CountOptions::default()).unwrap();
        assert_eq!(t.n_pairs(), 2);
        assert_eq!(t.count(SrcTokenId(1), TgtTokenId(6)), 2);
        assert_eq!(t.count(SrcTokenId(1), TgtTokenId(5)), 1);
        assert_eq!(t.count(SrcTokenId(0), TgtTokenId(4)), 0);
        assert_eq!(t.src_count(SrcTokenId(1)), 2);
        assert_eq!(t.tgt_count(TgtTokenId(5)), 1);
        assert_eq!(t.nnz(), 4);
    }

    #[test]
    fn pruning_and_window() {
        let pairs = vec![
            (vec![0, 1], vec![0, 1]),
            (vec![0, 1], vec![0, 2]),
            (vec![0], vec![0]),
        ];
        let o = CountOptions {
            min_count: 2,
            ..CountOptions::default()
        };
        let t = CoocTable::from_pairs(&pairs, &o).unwrap();
        assert_eq!(t.nnz(), 2); // (0,0)=3, (1,0)=2
        let o = CountOptions {
            top_k: Some(1),
            ..CountOptions::default()
        };
        let t = CoocTable::from_pairs(&pairs, &o).unwrap();
        assert_eq!(t.row(SrcTokenId(0)).0, &[0]);
        let o = CountOptions {
            window: Window::Diagonal { width: 0.1 },
            ..CountOptions::default()
        };
        let t = CoocTable::from_pairs(&pairs, &o).unwrap();
        assert_eq!(t.count(SrcTokenId(0), TgtTokenId(1)), 0);
        assert_eq!(t.count(SrcTokenId(1), TgtTokenId(1)), 1);
        assert!(
            CountOptions {
                chunk_size: 0,
                ..CountOptions::default()
            }
            .check()
            .is_err()
        );
    }

    #[test]
    fn chunked_equals_whole() {
        let pairs: Vec<(Vec<u32>, Vec<u32>)> = (0..2000u32)
            .map(|i| (vec![i % 7, i % 13, i % 5], vec![i % 11, (i * 7) % 17]))
            .collect();
        let a = CoocTable::from_pairs(&pairs, &CountOptions::default()).unwrap();
        let b = CoocTable::from_pairs(
            &pairs,
            &CountOptions {
                chunk_size: 7,
                ..CountOptions::default()
            },
        )
        .unwrap();
        assert_eq!(a, b);
        assert_eq!(a.transpose().transpose(), a);
    }
}
