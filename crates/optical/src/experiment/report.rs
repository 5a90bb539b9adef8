//! Tables from run records: methods × collections per headline measure, means over seeds, paired
//! significance against the baseline row and the best baseline of each collection, and the
//! standard deviation over seeds of the first headline measure.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use clir_metrics::stats::{holm, percentile, randomization};

use super::config::{ExperimentConfig, MethodRole, MethodSpec};
use super::record::{ALIGNMENT_RECALL, HEADLINE, RunRecord};

/// Permutations of the paired randomization test.
pub const PERMUTATIONS: usize = 10_000;
/// Significance level.
pub const ALPHA: f64 = 0.05;

/// One (collection, method) cell aggregated over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Seeds present.
    pub seeds: usize,
    /// The seeds present, by id (records of unseeded rows carry none).
    pub seed_ids: BTreeSet<u64>,
    /// Measure key → the seeds whose records measured it (fewer than `seeds` while a measure
    /// added later, such as the token diagnostics, is being filled in).
    pub key_seeds: BTreeMap<String, usize>,
    /// Measure key → query id → value averaged over the seeds that measured it.
    pub per_query: BTreeMap<String, BTreeMap<String, f64>>,
    /// Measure key → mean over queries of the seed averages.
    pub mean: BTreeMap<String, f64>,
    /// Measure key → standard deviation over seeds of the per-seed means (0 for one seed).
    pub seed_sd: BTreeMap<String, f64>,
    /// Hosts the seeds ran on.
    pub hosts: BTreeSet<String>,
    /// Summed wall time of the seeds.
    pub wall_s: f64,
    /// Training throughput (pairs/s) averaged over seeds, for trained methods.
    pub pairs_per_s: Option<f64>,
    /// Share of training step time spent in Sinkhorn, averaged over seeds.
    pub sinkhorn_share: Option<f64>,
    /// Peak resident memory of the training process (MB), the largest over seeds.
    pub peak_rss_mb: Option<f64>,
}

impl Cell {
    fn from_records(records: &[&RunRecord]) -> Option<Self> {
        records.first()?;
        let keys: BTreeSet<&String> = records.iter().flat_map(|r| r.per_query.keys()).collect();
        let mut per_query: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
        let mut key_seeds = BTreeMap::new();
        for key in keys {
            // Each measure is averaged over the seeds that measured it, never padded with zeros.
            let having: Vec<&BTreeMap<String, f64>> = records
                .iter()
                .filter_map(|r| r.per_query.get(key))
                .collect();
            let mut avg = BTreeMap::new();
            for qid in having[0].keys() {
                let sum: f64 = having
                    .iter()
                    .map(|v| v.get(qid).copied().unwrap_or(0.0))
                    .sum();
                avg.insert(qid.clone(), sum / having.len() as f64);
            }
            per_query.insert(key.clone(), avg);
            key_seeds.insert(key.clone(), having.len());
        }
        let means = per_query
            .iter()
            .map(|(k, v)| (k.clone(), mean(v.values().copied())))
            .collect();
        let seed_sd = records
            .iter()
            .flat_map(|r| r.means.keys())
            .collect::<BTreeSet<_>>()
            .into_iter()
            .map(|k| {
                let xs: Vec<f64> = records
                    .iter()
                    .filter_map(|r| r.means.get(k).copied())
                    .collect();
                (k.clone(), sd(&xs))
            })
            .collect();
        let training = |key: &str| -> Vec<f64> {
            records
                .iter()
                .filter_map(|r| r.training.as_ref()?.get(key)?.as_f64())
                .collect()
        };
        let rates = training("pairs_per_s");
        let shares = training("sinkhorn_share");
        let rss = training("peak_rss_mb");
        Some(Self {
            seeds: records.len(),
            seed_ids: records.iter().filter_map(|r| r.seed).collect(),
            key_seeds,
            per_query,
            mean: means,
            seed_sd,
            hosts: records.iter().map(|r| r.host.clone()).collect(),
            wall_s: records.iter().map(|r| r.wall_s).sum(),
            pairs_per_s: (!rates.is_empty()).then(|| mean(rates.iter().copied())),
            sinkhorn_share: (!shares.is_empty()).then(|| mean(shares.iter().copied())),
            peak_rss_mb: rss.iter().copied().reduce(f64::max),
        })
    }

    /// Seed-averaged per-query values of `key` in the query order of `ids`.
    pub(crate) fn values(&self, key: &str, ids: &[String]) -> Vec<f64> {
        let v = self.per_query.get(key);
        ids.iter()
            .map(|q| v.and_then(|v| v.get(q)).copied().unwrap_or(0.0))
            .collect()
    }
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { 0.0 } else { s / n as f64 }
}

fn sd(xs: &[f64]) -> f64 {
    if xs.len() < 2 {
        return 0.0;
    }
    let m = mean(xs.iter().copied());
    (xs.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (xs.len() - 1) as f64).sqrt()
}

/// The grid aggregated over seeds: `cells[(collection, method)]`.
#[derive(Debug, Clone, Default)]
pub struct Grid {
    /// Collections in config order.
    pub collections: Vec<String>,
    /// Methods in config order.
    pub methods: Vec<String>,
    /// Aggregated cells.
    pub cells: BTreeMap<(String, String), Cell>,
    /// Seeds each seeded cell should have.
    pub seeds_expected: usize,
}

impl Grid {
    /// Aggregates `records` (current fingerprints only) in the order of `config`.
    pub fn new(config: &ExperimentConfig, collections: &[String], records: &[RunRecord]) -> Self {
        let mut cells = BTreeMap::new();
        for c in collections {
            for m in &config.methods {
                let rs: Vec<&RunRecord> = records
                    .iter()
                    .filter(|r| &r.collection == c && r.method == m.name)
                    .collect();
                if let Some(cell) = Cell::from_records(&rs) {
                    cells.insert((c.clone(), m.name.clone()), cell);
                }
            }
        }
        Self {
            collections: collections.to_vec(),
            methods: config.methods.iter().map(|m| m.name.clone()).collect(),
            cells,
            seeds_expected: config.seeds.len(),
        }
    }

    /// The cell of `(collection, method)`.
    pub fn cell(&self, collection: &str, method: &str) -> Option<&Cell> {
        self.cells.get(&(collection.to_owned(), method.to_owned()))
    }

    /// The baseline-role row with the highest mean nDCG@10 on `collection`, excluding
    /// `exclude` (the row being tested).
    pub fn best_baseline(&self, config: &ExperimentConfig, collection: &str) -> Option<String> {
        self.best_baseline_measuring(config, collection, HEADLINE[0].key)
    }

    /// [`Grid::best_baseline`] among the rows whose cell on `collection` records `key`.
    pub fn best_baseline_measuring(
        &self,
        config: &ExperimentConfig,
        collection: &str,
        key: &str,
    ) -> Option<String> {
        config
            .methods
            .iter()
            .filter(|m| m.role == MethodRole::Baseline)
            .filter_map(|m| {
                let cell = self.cell(collection, &m.name)?;
                cell.mean.get(key)?;
                Some((m.name.clone(), *cell.mean.get(HEADLINE[0].key)?))
            })
            .max_by(|a, b| a.1.total_cmp(&b.1))
            .map(|(n, _)| n)
    }
}

/// Holm-corrected p-values of `method` against `other(collection)` on every collection where
/// both cells exist, for measure `key`: collection → (mean difference, adjusted p).
fn compare_row(
    grid: &Grid,
    method: &str,
    key: &str,
    other: impl Fn(&str) -> Option<String>,
) -> BTreeMap<String, (f64, f64)> {
    let mut found = Vec::new();
    for c in &grid.collections {
        let Some(o) = other(c) else { continue };
        if o == method {
            continue;
        }
        let (Some(a), Some(b)) = (grid.cell(c, &o), grid.cell(c, method)) else {
            continue;
        };
        let ids: Vec<String> = a
            .per_query
            .get(key)
            .map(|v| v.keys().cloned().collect())
            .unwrap_or_default();
        let (xa, xb) = (a.values(key, &ids), b.values(key, &ids));
        if ids.is_empty() {
            continue;
        }
        let diff = mean(xb.iter().copied()) - mean(xa.iter().copied());
        let p = randomization(&xa, &xb, PERMUTATIONS, 0)
            .map(|t| t.p_value)
            .unwrap_or(f64::NAN);
        found.push((c.clone(), diff, p));
    }
    let ps: Vec<f64> = found
        .iter()
        .map(|f| if f.2.is_nan() { 1.0 } else { f.2 })
        .collect();
    let adjusted = holm(&ps);
    found
        .into_iter()
        .zip(adjusted)
        .map(|((c, d, _), p)| (c, (d, p)))
        .collect()
}

/// The Markdown tables of `grid`, one per headline measure, with significance markers and a
/// provenance table.
pub fn markdown(config: &ExperimentConfig, grid: &Grid) -> String {
    let mut out = String::new();
    let baseline = config.baseline.clone();
    // A mix grid has a row per (method, share, budget): its other measures stay in the records.
    let shown = if config.mix.is_some() {
        1
    } else {
        HEADLINE.len()
    };
    for h in &HEADLINE[..shown] {
        table(&mut out, config, grid, h.key, h.label, &grid.collections);
    }
    let _ = writeln!(
        out,
        "Means over queries of per-query values averaged over seeds; `(k/n)` marks a cell with only \
         k of n seeds done, `–` a cell not run yet. † : significantly different from `{baseline}`; \
         ‡ : from the best baseline of the column (named under each table); paired randomization \
         test ({PERMUTATIONS} permutations) on the seed-averaged per-query values, Holm-corrected \
         over the collections of a row, p < {ALPHA}. Reference rows are not tested.\n"
    );
    let h = &HEADLINE[0];
    seed_spread(&mut out, config, grid, h.key, h.label, &grid.collections);
    provenance(&mut out, config, grid);
    out
}

/// The keys and labels of the alignment tables on parallel collections (see
/// [`crate::diagnostics::ParallelAlignment::per_pair`]).
pub const PARALLEL_MEASURES: [(&str, &str); 7] = [
    ("rev_recall_1", "English → X R@1"),
    ("rev_recall_5", "English → X R@5"),
    ("rev_recall_10", "English → X R@10"),
    ("rev_recall_100", "English → X R@100"),
    ("cos_parallel", "cosine of parallel pairs"),
    ("cos_random", "cosine of non-parallel pairs"),
    ("cos_gap", "cosine gap (parallel − non-parallel)"),
];

/// The keys and labels of the token-level tables on parallel collections (see
/// [`crate::align::token_agreement`] and [`ExperimentConfig::token_alignment`]).
pub const TOKEN_MEASURES: [(&str, &str); 3] = [
    (
        "token_aer",
        "token AER of the OT plan against co-occurrence links",
    ),
    (
        "token_precision",
        "token link precision against co-occurrence links",
    ),
    (
        "token_recall",
        "token link recall against co-occurrence links",
    ),
];

/// The tables of an alignment grid ([`ExperimentConfig::alignment`]): Recall@1/5/10 on every
/// collection (Recall@100 is a headline table), then on the parallel collections the other
/// retrieval direction and the cosine diagnostics, each tested against the baseline row and
/// the best baseline as the headline tables are.
pub fn alignment(config: &ExperimentConfig, grid: &Grid) -> String {
    let mut out = String::from("#### Embedding alignment\n\n");
    for h in ALIGNMENT_RECALL {
        let label = format!("{} (query language → English)", h.label);
        table(&mut out, config, grid, h.key, &label, &grid.collections);
    }
    let parallel: Vec<String> = grid
        .collections
        .iter()
        .filter(|c| crate::data::CollectionSpec::is_parallel_column(c))
        .cloned()
        .collect();
    if !parallel.is_empty() {
        for (key, label) in PARALLEL_MEASURES {
            table(&mut out, config, grid, key, label, &parallel);
        }
        let measured = grid
            .cells
            .values()
            .any(|c| c.mean.contains_key(TOKEN_MEASURES[0].0));
        if config.token_alignment && measured {
            for (key, label) in TOKEN_MEASURES {
                table(&mut out, config, grid, key, label, &parallel);
            }
        } else if config.token_alignment {
            let _ = writeln!(
                out,
                "**Token alignment**: no record has the token diagnostics yet (records made \
                 before they were switched on are measured again by the next run).\n"
            );
        }
    }
    let _ = writeln!(
        out,
        "On a parallel collection query *i* and document *i* are translations: → X retrieves the \
         query-language sentences with the English ones, the non-parallel partner of pair *i* is \
         English line *i* + ⌊n/2⌋ (mod n), and cosines are of the query encoder's vector against \
         the teacher's passage vector. Markers as in the headline tables.\n"
    );
    if config.token_alignment && !parallel.is_empty() {
        let _ = writeln!(
            out,
            "Token tables: per sentence pair, the mutual-argmax links of the row's OT plan \
             (student tokens of the query-language sentence against the teacher's tokens of its \
             translation, cosine cost, ε = 0.05, uniform marginals) against Melamed's competitive \
             linking on Dice co-occurrence counted on the language's whole training bitext, same \
             subword tokens; AER = 1 − 2|A ∩ R| / (|A| + |R|). Lower AER = closer to the links \
             bitext statistics find; neither side is gold.\n"
        );
    }
    out
}

/// Resamples of the stratified bootstrap behind [`gap`].
pub const GAP_RESAMPLES: usize = 2_000;

/// The high/low-resource gap of every row ([`ExperimentConfig::gap`]): for each collection
/// family (`afriqa`, `xquad`, `flores`) that has columns of both groups, the mean nDCG@10 of the
/// high-resource columns minus that of the low-resource columns, and its difference from the
/// baseline row's gap, each with a 95% confidence interval from a stratified bootstrap: every
/// resample draws each column's queries with replacement, the same draw for every row (so the
/// differences are paired). `columns` pairs each grid column with its collection.
pub fn gap(
    config: &ExperimentConfig,
    grid: &Grid,
    columns: &[(String, crate::data::CollectionSpec)],
) -> String {
    use rand::{Rng, SeedableRng};

    let Some(groups) = &config.gap else {
        return String::new();
    };
    let key = HEADLINE[0].key;
    let mut out = format!(
        "#### High/low-resource gap\n\nHigh-resource: {}; low-resource: {}. Gap = mean nDCG@10 \
         of the high-resource columns − mean of the low-resource columns of one collection \
         family; 95% intervals from {GAP_RESAMPLES} stratified bootstrap resamples of the \
         queries (seed-averaged per-query values; the same resample for every row, so Δ is \
         paired). Δ gap: the row's gap minus `{}`'s.\n\n",
        groups.high.join(", "),
        groups.low.join(", "),
        config.baseline
    );
    let mut families: Vec<&str> = Vec::new();
    for (_, spec) in columns {
        if !families.contains(&spec.family()) {
            families.push(spec.family());
        }
    }
    for family in families {
        let side = |high: bool| -> Vec<&String> {
            columns
                .iter()
                .filter(|(_, s)| s.family() == family && groups.is_high(s.language()) == Some(high))
                .map(|(c, _)| c)
                .collect()
        };
        let (high, low) = (side(true), side(false));
        if high.is_empty() || low.is_empty() {
            continue;
        }
        // Rows with a cell on every column of the family, their per-query values per column.
        let used: Vec<&String> = high.iter().chain(&low).copied().collect();
        let ids: Vec<Vec<String>> = used
            .iter()
            .map(|c| {
                grid.methods
                    .iter()
                    .find_map(|m| grid.cell(c, m)?.per_query.get(key))
                    .map(|v| v.keys().cloned().collect())
                    .unwrap_or_default()
            })
            .collect();
        let rows: Vec<(&str, Vec<Vec<f64>>)> = config
            .methods
            .iter()
            .filter_map(|m| {
                let values = used
                    .iter()
                    .zip(&ids)
                    .map(|(c, ids)| {
                        let cell = grid.cell(c, &m.name)?;
                        cell.mean.get(key)?;
                        Some(cell.values(key, ids))
                    })
                    .collect::<Option<Vec<_>>>()?;
                Some((m.name.as_str(), values))
            })
            .collect();
        if rows.is_empty() || ids.iter().any(|i| i.is_empty()) {
            continue;
        }
        let nh = high.len();
        let gap_of = |cols: &[f64]| -> f64 {
            mean(cols[..nh].iter().copied()) - mean(cols[nh..].iter().copied())
        };
        let observed: Vec<Vec<f64>> = rows
            .iter()
            .map(|(_, v)| v.iter().map(|q| mean(q.iter().copied())).collect())
            .collect();
        let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
        let mut boots: Vec<Vec<f64>> = vec![Vec::with_capacity(GAP_RESAMPLES); rows.len()];
        let mut draw = Vec::new();
        let mut col_means = vec![vec![0.0; used.len()]; rows.len()];
        for _ in 0..GAP_RESAMPLES {
            for (c, qids) in ids.iter().enumerate() {
                let n = qids.len();
                draw.clear();
                draw.extend((0..n).map(|_| rng.random_range(0..n)));
                for (r, (_, values)) in rows.iter().enumerate() {
                    col_means[r][c] = draw.iter().map(|&i| values[c][i]).sum::<f64>() / n as f64;
                }
            }
            for (r, b) in boots.iter_mut().enumerate() {
                b.push(gap_of(&col_means[r]));
            }
        }
        let base = rows.iter().position(|(n, _)| *n == config.baseline);
        let ci = |mut xs: Vec<f64>| -> (f64, f64) {
            xs.sort_by(f64::total_cmp);
            (percentile(&xs, 0.025), percentile(&xs, 0.975))
        };
        let _ = writeln!(
            out,
            "**{family}** — high: {}; low: {}\n",
            high.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", "),
            low.iter()
                .map(|c| format!("`{c}`"))
                .collect::<Vec<_>>()
                .join(", ")
        );
        let _ = writeln!(
            out,
            "| method | high | low | gap [95% CI] | Δ gap vs `{}` [95% CI] |\n|---|---|---|---|---|",
            config.baseline
        );
        for (r, (name, _)) in rows.iter().enumerate() {
            let obs = &observed[r];
            let g = gap_of(obs);
            let (lo, hi) = ci(boots[r].clone());
            let delta = match base {
                Some(b) if b != r => {
                    let d: Vec<f64> = boots[r].iter().zip(&boots[b]).map(|(x, y)| x - y).collect();
                    let (dl, dh) = ci(d);
                    format!("{:+.3} [{:+.3}, {:+.3}]", g - gap_of(&observed[b]), dl, dh)
                }
                _ => "–".into(),
            };
            let _ = writeln!(
                out,
                "| {name} | {} | {} | {g:+.3} [{lo:+.3}, {hi:+.3}] | {delta} |",
                fmt3(mean(obs[..nh].iter().copied())),
                fmt3(mean(obs[nh..].iter().copied())),
            );
        }
        let _ = writeln!(out);
    }
    out
}

/// The bold title and the header of a table with a row per method, a column per entry of
/// `columns` and a row-mean column.
fn header(out: &mut String, title: &str, columns: &[String]) {
    let _ = writeln!(out, "**{title}**\n");
    let _ = write!(out, "| method |");
    for c in columns {
        let _ = write!(out, " {c} |");
    }
    let _ = writeln!(out, " mean |");
    let _ = writeln!(out, "|---|{}---|", "---|".repeat(columns.len()));
}

/// One table of measure `key`: a row per method, a column per entry of `columns`, each value
/// tested against `config.baseline` (†) and, for system rows, the column's best baseline (‡).
fn table(
    out: &mut String,
    config: &ExperimentConfig,
    grid: &Grid,
    key: &str,
    label: &str,
    columns: &[String],
) {
    let baseline = config.baseline.as_str();
    header(out, label, columns);
    let best: BTreeMap<String, Option<String>> = columns
        .iter()
        .map(|c| (c.clone(), grid.best_baseline_measuring(config, c, key)))
        .collect();
    for m in &config.methods {
        let has = |c: &String| {
            grid.cell(c, &m.name)
                .is_some_and(|x| x.mean.contains_key(key))
        };
        if columns
            .iter()
            .all(|c| grid.cell(c, &m.name).is_some() && !has(c))
        {
            // The row does not measure `key` (e.g. BM25 in an embedding diagnostic).
            continue;
        }
        let tested = m.role != MethodRole::Reference;
        let vs_base = if tested && m.name != baseline {
            compare_row(grid, &m.name, key, |_| Some(baseline.to_owned()))
        } else {
            BTreeMap::new()
        };
        let vs_best = if tested && m.role == MethodRole::System {
            compare_row(grid, &m.name, key, |c| best.get(c).cloned().flatten())
        } else {
            BTreeMap::new()
        };
        let _ = write!(out, "| {} |", m.name);
        let mut row_means = Vec::new();
        for c in columns {
            let Some((cell, &v)) = grid
                .cell(c, &m.name)
                .and_then(|cell| Some((cell, cell.mean.get(key)?)))
            else {
                let _ = write!(out, " – |");
                continue;
            };
            row_means.push(v);
            let mut marks = String::new();
            if vs_base.get(c).is_some_and(|(_, p)| *p < ALPHA) {
                marks.push('†');
            }
            if vs_best.get(c).is_some_and(|(_, p)| *p < ALPHA) {
                marks.push('‡');
            }
            let seeded = is_seeded(config, m);
            let seeds = cell.key_seeds.get(key).copied().unwrap_or(cell.seeds);
            let partial = if seeded && seeds < grid.seeds_expected {
                format!(" ({seeds}/{})", grid.seeds_expected)
            } else {
                String::new()
            };
            let _ = write!(out, " {}{marks}{partial} |", fmt3(v));
        }
        if row_means.len() == columns.len() {
            let _ = writeln!(out, " {} |", fmt3(mean(row_means.into_iter())));
        } else {
            let _ = writeln!(out, " – |");
        }
    }
    let names: Vec<String> = columns
        .iter()
        .filter_map(|c| Some(format!("{c}: `{}`", best.get(c)?.as_ref()?)))
        .collect();
    if !names.is_empty() {
        let _ = writeln!(out, "\nBest baseline by nDCG@10 — {}.\n", names.join(", "));
    } else {
        let _ = writeln!(out);
    }
}

/// The spread over seeds of measure `key`: a row per seeded method, the sample standard deviation
/// of its per-seed means on each column (`–` where fewer than two seeds measured it). The tests
/// of [`table`] are over queries with each query averaged over seeds, so they cannot see this
/// spread; this table says how much retraining alone moves a cell. Writes nothing until some
/// cell has two seeds.
fn seed_spread(
    out: &mut String,
    config: &ExperimentConfig,
    grid: &Grid,
    key: &str,
    label: &str,
    columns: &[String],
) {
    let sd_of = |c: &String, m: &MethodSpec| {
        let cell = grid.cell(c, &m.name)?;
        (cell.key_seeds.get(key).copied().unwrap_or(0) >= 2)
            .then(|| cell.seed_sd.get(key).copied())
            .flatten()
    };
    let rows: Vec<&MethodSpec> = config
        .methods
        .iter()
        .filter(|m| is_seeded(config, m))
        .collect();
    if !rows
        .iter()
        .any(|m| columns.iter().any(|c| sd_of(c, m).is_some()))
    {
        return;
    }
    header(
        out,
        &format!("{label}: standard deviation over seeds"),
        columns,
    );
    for m in rows {
        let sds: Vec<Option<f64>> = columns.iter().map(|c| sd_of(c, m)).collect();
        let _ = write!(out, "| {} |", m.name);
        for sd in &sds {
            let _ = write!(out, " {} |", sd.map_or_else(|| "–".to_owned(), fmt3));
        }
        match sds.iter().copied().collect::<Option<Vec<f64>>>() {
            Some(all) => {
                let _ = writeln!(out, " {} |", fmt3(mean(all.into_iter())));
            }
            None => {
                let _ = writeln!(out, " – |");
            }
        }
    }
    let _ = writeln!(
        out,
        "\nSample standard deviation of a cell's per-seed means of {label} (`–`: fewer than two \
         seeds yet). Retraining with another seed (data order, dropout) moves a cell by about this \
         much; † and ‡ above are tested over queries on seed-averaged values and do not see it, \
         so a significant difference between two trained rows that is within this spread is not \
         a difference of method.\n"
    );
}

/// Whether the row `m` depends on a seed: a trained student, or a fusion of one.
fn is_seeded(config: &ExperimentConfig, m: &MethodSpec) -> bool {
    m.kind.seeded()
        || m.of
            .iter()
            .any(|o| config.method(o).is_some_and(|x| x.kind.seeded()))
}

/// Which seeds of `config` the row `method` has run: the seeds done on every collection, then
/// each seed done on only some as `seed on k/n`; `–` when none is.
pub fn seeds_done(config: &ExperimentConfig, grid: &Grid, method: &str) -> String {
    let n = grid.collections.len();
    let mut complete = Vec::new();
    let mut partial = Vec::new();
    for &seed in &config.seeds {
        let k = grid
            .collections
            .iter()
            .filter(|c| {
                grid.cell(c, method)
                    .is_some_and(|x| x.seed_ids.contains(&seed))
            })
            .count();
        if k == n {
            complete.push(seed.to_string());
        } else if k > 0 {
            partial.push(format!("{seed} on {k}/{n}"));
        }
    }
    let mut parts = Vec::new();
    if !complete.is_empty() {
        parts.push(complete.join(", "));
    }
    parts.extend(partial);
    if parts.is_empty() {
        "–".to_owned()
    } else {
        parts.join("; ")
    }
}

/// Seed runs done over the seeded rows: (runs with a record, runs the config asks for), one run
/// being a (collection, seeded row, seed).
pub fn seed_runs(config: &ExperimentConfig, grid: &Grid) -> (usize, usize) {
    let rows: Vec<&MethodSpec> = config
        .methods
        .iter()
        .filter(|m| is_seeded(config, m))
        .collect();
    let done = rows
        .iter()
        .flat_map(|m| grid.collections.iter().map(move |c| (c, m)))
        .filter_map(|(c, m)| grid.cell(c, &m.name))
        .map(|cell| {
            config
                .seeds
                .iter()
                .filter(|s| cell.seed_ids.contains(s))
                .count()
        })
        .sum();
    (
        done,
        rows.len() * grid.collections.len() * config.seeds.len(),
    )
}

fn provenance(out: &mut String, config: &ExperimentConfig, grid: &Grid) {
    let _ = writeln!(
        out,
        "| method | cells done | seeds done | ran on | wall time (s, all cells) | training pairs/s | Sinkhorn share of step time | peak RSS (MB) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|---|");
    for m in &config.methods {
        let cells: Vec<&Cell> = grid
            .collections
            .iter()
            .filter_map(|c| grid.cell(c, &m.name))
            .collect();
        let hosts: BTreeSet<&str> = cells
            .iter()
            .flat_map(|c| c.hosts.iter().map(String::as_str))
            .collect();
        // (An empty float sum is −0, which would print as "-0".)
        let wall = if cells.is_empty() {
            "–".to_owned()
        } else {
            format!("{:.0}", cells.iter().map(|c| c.wall_s).sum::<f64>())
        };
        let avg = |f: fn(&Cell) -> Option<f64>, fmt: fn(f64) -> String| {
            let xs: Vec<f64> = cells.iter().filter_map(|c| f(c)).collect();
            if xs.is_empty() {
                "–".to_owned()
            } else {
                fmt(mean(xs.into_iter()))
            }
        };
        let rate = avg(|c| c.pairs_per_s, |v| format!("{v:.1}"));
        let share = avg(|c| c.sinkhorn_share, |v| format!("{:.1}%", 100.0 * v));
        let rss = cells.iter().filter_map(|c| c.peak_rss_mb).reduce(f64::max);
        let rss = rss.map_or_else(|| "–".to_owned(), |v| format!("{v:.0}"));
        let hosts = if hosts.is_empty() {
            "–".to_owned()
        } else {
            hosts.into_iter().collect::<Vec<_>>().join(", ")
        };
        let seeds = if is_seeded(config, m) {
            seeds_done(config, grid, &m.name)
        } else {
            "unseeded".to_owned()
        };
        let _ = writeln!(
            out,
            "| {} | {}/{} | {seeds} | {hosts} | {wall} | {rate} | {share} | {rss} |",
            m.name,
            cells.len(),
            grid.collections.len()
        );
    }
    let _ = writeln!(out);
}

/// The noise curves of a noise grid: for each collection, the rates and the column name of each.
pub type Curves = Vec<(String, Vec<(f64, String)>)>;

/// Groups noise-grid columns (`afriqa:hau:test@0.1`) by collection, rates in order.
pub fn curves(sets: &[super::EvalSet]) -> Curves {
    let mut out: Curves = Vec::new();
    for set in sets {
        let Some(rate) = set.noise_rate else { continue };
        let base = set.base.to_string();
        match out.iter_mut().find(|(b, _)| *b == base) {
            Some((_, points)) => points.push((rate, set.to_string())),
            None => out.push((base, vec![(rate, set.to_string())])),
        }
    }
    out
}

/// Per-query normalised area under the nDCG@10-vs-rate curve of `method` on one collection
/// (trapezoid rule divided by the rate range: the mean nDCG@10 over the range), for the queries
/// of the first point; `None` when a point is missing.
fn auc_per_query(
    grid: &Grid,
    method: &str,
    points: &[(f64, String)],
) -> Option<BTreeMap<String, f64>> {
    let key = HEADLINE[0].key;
    let cells: Vec<&Cell> = points
        .iter()
        .map(|(_, c)| grid.cell(c, method))
        .collect::<Option<_>>()?;
    let ids: Vec<String> = cells[0].per_query.get(key)?.keys().cloned().collect();
    let series: Vec<Vec<f64>> = cells.iter().map(|c| c.values(key, &ids)).collect();
    let range = points[points.len() - 1].0 - points[0].0;
    Some(
        ids.into_iter()
            .enumerate()
            .map(|(q, id)| {
                let auc = if range > 0.0 {
                    points
                        .windows(2)
                        .zip(series.windows(2))
                        .map(|(r, v)| (r[1].0 - r[0].0) * (v[0][q] + v[1][q]) / 2.0)
                        .sum::<f64>()
                        / range
                } else {
                    series[0][q]
                };
                (id, auc)
            })
            .collect(),
    )
}

/// Per-query drop `nDCG@10(clean) − nDCG@10(rate)` of `method` on one collection.
fn drop_per_query(
    grid: &Grid,
    method: &str,
    clean: &str,
    noisy: &str,
) -> Option<BTreeMap<String, f64>> {
    let key = HEADLINE[0].key;
    let (c, n) = (grid.cell(clean, method)?, grid.cell(noisy, method)?);
    let ids: Vec<String> = c.per_query.get(key)?.keys().cloned().collect();
    let (xc, xn) = (c.values(key, &ids), n.values(key, &ids));
    Some(
        ids.into_iter()
            .zip(xc.iter().zip(&xn).map(|(a, b)| a - b))
            .collect(),
    )
}

/// Per collection: the baseline's and the tested row's per-query values, in the same query order.
type Paired = Vec<(String, Vec<f64>, Vec<f64>)>;

/// Paired randomization tests of `ours` against `theirs` per collection (same query ids),
/// Holm-corrected over the collections: collection → adjusted p.
fn paired_holm(pairs: Paired) -> BTreeMap<String, f64> {
    let ps: Vec<f64> = pairs
        .iter()
        .map(|(_, a, b)| {
            randomization(a, b, PERMUTATIONS, 0)
                .map(|t| t.p_value)
                .unwrap_or(1.0)
        })
        .collect();
    pairs
        .into_iter()
        .zip(holm(&ps))
        .map(|((c, _, _), p)| (c, p))
        .collect()
}

/// The robustness section of a noise grid: per collection and method, the normalised area
/// under the nDCG@10-vs-noise-rate curve and the relative drop from clean queries at the rates
/// 0.1 and 0.2 (when in the grid), with significance against the baseline row.
pub fn robustness(config: &ExperimentConfig, grid: &Grid, curves: &Curves) -> String {
    let mut out = String::new();
    let baseline = config.baseline.as_str();
    let drop_rates: Vec<f64> = [0.1, 0.2]
        .into_iter()
        .filter(|r| {
            curves
                .iter()
                .all(|(_, p)| p.iter().any(|(x, _)| (x - r).abs() < 1e-9))
        })
        .collect();
    let _ = writeln!(out, "**Robustness to query noise (nDCG@10)**\n");
    let _ = write!(out, "| method |");
    for (base, _) in curves {
        let _ = write!(out, " {base} AUC |");
        for r in &drop_rates {
            let _ = write!(out, " drop @{r} |");
        }
    }
    let _ = writeln!(out);
    let _ = writeln!(
        out,
        "|---|{}",
        "---|".repeat(curves.len() * (1 + drop_rates.len()))
    );
    let point = |points: &[(f64, String)], r: f64| {
        points
            .iter()
            .find(|(x, _)| (x - r).abs() < 1e-9)
            .map(|(_, c)| c.clone())
    };
    for m in &config.methods {
        let tested = m.role != MethodRole::Reference && m.name != baseline;
        // AUC and drops of this row and of the baseline, per collection, per query.
        let mut auc_pairs = Vec::new();
        let mut drop_pairs: Vec<Paired> = vec![Vec::new(); drop_rates.len()];
        let mut cells = Vec::new();
        for (base, points) in curves {
            let auc = auc_per_query(grid, &m.name, points);
            if let (true, Some(a), Some(b)) = (tested, &auc, auc_per_query(grid, baseline, points))
            {
                let ids: Vec<&String> = b.keys().collect();
                let xs = |m: &BTreeMap<String, f64>| -> Vec<f64> {
                    ids.iter()
                        .map(|q| m.get(*q).copied().unwrap_or(0.0))
                        .collect()
                };
                auc_pairs.push((base.clone(), xs(&b), xs(a)));
            }
            let clean = points[0].1.clone();
            let mut drops = Vec::new();
            for (i, &r) in drop_rates.iter().enumerate() {
                let noisy = point(points, r).unwrap_or_default();
                let rel = grid
                    .cell(&clean, &m.name)
                    .zip(grid.cell(&noisy, &m.name))
                    .map(|(c, n)| {
                        let (c, n) = (c.mean[HEADLINE[0].key], n.mean[HEADLINE[0].key]);
                        if c > 0.0 { (c - n) / c } else { f64::NAN }
                    });
                if let (true, Some(a), Some(b)) = (
                    tested,
                    drop_per_query(grid, &m.name, &clean, &noisy),
                    drop_per_query(grid, baseline, &clean, &noisy),
                ) {
                    let ids: Vec<&String> = b.keys().collect();
                    let xs = |m: &BTreeMap<String, f64>| -> Vec<f64> {
                        ids.iter()
                            .map(|q| m.get(*q).copied().unwrap_or(0.0))
                            .collect()
                    };
                    drop_pairs[i].push((base.clone(), xs(&b), xs(&a)));
                }
                drops.push(rel);
            }
            let mean_auc = auc.map(|a| mean(a.values().copied()));
            cells.push((base.clone(), mean_auc, drops));
        }
        let auc_p = paired_holm(auc_pairs);
        let drop_p: Vec<BTreeMap<String, f64>> = drop_pairs.into_iter().map(paired_holm).collect();
        let _ = write!(out, "| {} |", m.name);
        for (base, auc, drops) in cells {
            let mark = |p: Option<&f64>| {
                if p.is_some_and(|p| *p < ALPHA) {
                    "†"
                } else {
                    ""
                }
            };
            match auc {
                Some(v) => {
                    let _ = write!(out, " {}{} |", fmt3(v), mark(auc_p.get(&base)));
                }
                None => {
                    let _ = write!(out, " – |");
                }
            }
            for (i, d) in drops.iter().enumerate() {
                match d {
                    Some(v) if v.is_finite() => {
                        let _ = write!(out, " {:.1}%{} |", 100.0 * v, mark(drop_p[i].get(&base)));
                    }
                    _ => {
                        let _ = write!(out, " – |");
                    }
                }
            }
        }
        let _ = writeln!(out);
    }
    let _ = writeln!(
        out,
        "\nAUC: the area under the nDCG@10-vs-rate curve divided by the rate range (the mean \
         nDCG@10 over the rates, trapezoid rule), seed-averaged per query. drop @r: relative loss \
         of mean nDCG@10 from clean queries, (clean − noisy) / clean. † : the per-query AUC, or \
         the per-query absolute drop, differs significantly from `{baseline}`'s (paired \
         randomization test, {PERMUTATIONS} permutations, Holm over the collections of a row, \
         p < {ALPHA}). Reference rows are not tested.\n"
    );
    out
}

/// Three decimals without the leading zero, as IR tables print them (`.348`, `1.000`).
pub fn fmt3(v: f64) -> String {
    if v.is_nan() {
        return "nan".into();
    }
    let s = format!("{v:.3}");
    match s.strip_prefix("0.") {
        Some(rest) => format!(".{rest}"),
        None => s,
    }
}

#[cfg(test)]
pub(crate) mod tests {
    use super::*;
    use crate::experiment::config::ExperimentConfig;

    /// A record whose every headline measure takes `vals` on queries `q00`, `q01`, …
    pub(crate) fn record(
        collection: &str,
        method: &str,
        seed: Option<u64>,
        vals: &[f64],
    ) -> RunRecord {
        let q: BTreeMap<String, f64> = vals
            .iter()
            .enumerate()
            .map(|(i, v)| (format!("q{i:02}"), *v))
            .collect();
        let per_query = HEADLINE
            .iter()
            .map(|h| (h.key.to_owned(), q.clone()))
            .collect();
        RunRecord {
            experiment: "t".into(),
            collection: collection.into(),
            method: method.into(),
            seed,
            fingerprint: String::new(),
            git_commit: None,
            host: "cpu".into(),
            wall_s: 1.0,
            finished_unix: 0,
            num_queries: 0,
            means: BTreeMap::new(),
            per_query,
            training: None,
        }
        .with_means()
    }

    #[test]
    fn a_measure_some_seeds_lack_averages_over_the_others() {
        let config: ExperimentConfig = toml::from_str(
            r#"
name = "t"
seeds = [0, 1]
collections = ["flores:hau"]
[[method]]
name = "optical"
kind = "distil"
[[method]]
name = "infonce"
kind = "distil"
"#,
        )
        .unwrap();
        let ones = vec![1.0; 8];
        let quarter: Vec<f64> = (0..8).map(|i| f64::from(i % 4 == 0)).collect();
        let mut measured = record("flores:hau", "optical", Some(0), &ones);
        measured.per_query.insert(
            "token_aer".into(),
            (0..8).map(|i| (format!("q{i:02}"), quarter[i])).collect(),
        );
        let records = vec![
            measured.with_means(),
            record("flores:hau", "optical", Some(1), &ones),
        ];
        let columns = ["flores:hau".to_owned()];
        let grid = Grid::new(&config, &columns, &records);
        let cell = grid.cell("flores:hau", "optical").unwrap();
        assert_eq!((cell.seeds, cell.key_seeds["token_aer"]), (2, 1));
        assert!((cell.mean["token_aer"] - 0.25).abs() < 1e-12, "{cell:?}");
        assert!(cell.seed_sd.contains_key("token_aer"));
        let mut md = String::new();
        table(&mut md, &config, &grid, "token_aer", "AER", &columns);
        assert!(md.contains("| optical | .250 (1/2) |"), "{md}");
        // A row with nothing run yet has no wall time either (not "-0").
        let mut md = String::new();
        provenance(&mut md, &config, &grid);
        assert!(md.contains("| infonce | 0/1 | – | – | – |"), "{md}");
        assert!(md.contains("| optical | 1/1 | 0, 1 | cpu | 2 |"), "{md}");
    }

    #[test]
    fn tables_average_seeds_and_mark_significance() {
        let config: ExperimentConfig = toml::from_str(
            r#"
name = "t"
seeds = [0, 1]
collections = ["afriqa:hau"]
[[method]]
name = "zero-shot"
kind = "dense"
[[method]]
name = "optical"
kind = "distil"
role = "system"
"#,
        )
        .unwrap();
        let low: Vec<f64> = (0..40)
            .map(|i| if i % 4 == 0 { 1.0 } else { 0.0 })
            .collect();
        let high: Vec<f64> = (0..40)
            .map(|i| if i % 4 == 3 { 0.0 } else { 1.0 })
            .collect();
        let mid: Vec<f64> = (0..40)
            .map(|i| if i % 2 == 0 { 1.0 } else { 0.0 })
            .collect();
        let records = vec![
            record("afriqa:hau:test", "zero-shot", None, &low),
            record("afriqa:hau:test", "optical", Some(0), &high),
            record("afriqa:hau:test", "optical", Some(1), &mid),
        ];
        let grid = Grid::new(&config, &["afriqa:hau:test".into()], &records);
        let opt = grid.cell("afriqa:hau:test", "optical").unwrap();
        assert_eq!(opt.seeds, 2);
        // Seed means .75 and .5 → .625; per-query averaging gives the same mean.
        assert!((opt.mean["ndcg_cut_10"] - 0.625).abs() < 1e-12);
        assert!((opt.seed_sd["ndcg_cut_10"] - (0.125f64 * 0.125 * 2.0).sqrt()).abs() < 1e-12);
        let md = markdown(&config, &grid);
        assert!(md.contains("| zero-shot | .250 | .250 |"), "{md}");
        assert!(md.contains("| optical | .625†‡ | .625 |"), "{md}");
        // Seed spread: the trained row only, sd of the seed means .75 and .5.
        let spread = md.split("standard deviation over seeds**").nth(1).unwrap();
        let spread = spread.split("Sample standard deviation").next().unwrap();
        assert!(spread.contains("| optical | .177 | .177 |"), "{md}");
        assert!(!spread.contains("| zero-shot |"), "{md}");
        let one_seed = Grid::new(&config, &["afriqa:hau:test".into()], &records[..2]);
        let one_md = markdown(&config, &one_seed);
        assert!(!one_md.contains("over seeds**"), "{one_md}");
        assert!(
            md.contains("| optical | 1/1 | 0, 1 | cpu | 2 | – | – | – |"),
            "{md}"
        );
        assert!(md.contains("| zero-shot | 1/1 | unseeded | cpu |"), "{md}");
        assert_eq!(
            grid.best_baseline(&config, "afriqa:hau:test").as_deref(),
            Some("zero-shot")
        );
    }

    #[test]
    fn seeds_done_names_complete_and_partial_seeds() {
        let config: ExperimentConfig = toml::from_str(
            r#"
name = "t"
seeds = [0, 1, 2]
collections = ["afriqa:hau", "afriqa:yor"]
[[method]]
name = "zero-shot"
kind = "dense"
[[method]]
name = "optical"
kind = "distil"
[[method]]
name = "infonce"
kind = "distil"
"#,
        )
        .unwrap();
        let v = vec![0.5; 4];
        let records = vec![
            record("afriqa:hau:test", "zero-shot", None, &v),
            record("afriqa:yor:test", "zero-shot", None, &v),
            record("afriqa:hau:test", "optical", Some(0), &v),
            record("afriqa:yor:test", "optical", Some(0), &v),
            record("afriqa:hau:test", "optical", Some(2), &v),
            record("afriqa:yor:test", "infonce", Some(1), &v),
        ];
        let columns = ["afriqa:hau:test".to_owned(), "afriqa:yor:test".to_owned()];
        let grid = Grid::new(&config, &columns, &records);
        assert_eq!(seeds_done(&config, &grid, "optical"), "0; 2 on 1/2");
        assert_eq!(seeds_done(&config, &grid, "infonce"), "1 on 1/2");
        assert_eq!(seeds_done(&config, &grid, "zero-shot"), "–");
        // Two seeded rows × two collections × three seeds; the dense row is not counted.
        assert_eq!(seed_runs(&config, &grid), (4, 12));
    }

    #[test]
    fn alignment_tables_cover_recall_and_parallel_diagnostics() {
        let config: ExperimentConfig = toml::from_str(
            r#"
name = "t"
seeds = [0]
collections = ["flores:hau", "xquad:de"]
alignment = true
[[method]]
name = "zero-shot"
kind = "dense"
[[method]]
name = "bm25"
kind = "bm25"
[[method]]
name = "optical"
kind = "distil"
role = "system"
"#,
        )
        .unwrap();
        config.check().unwrap();
        let ones = vec![1.0; 40];
        let quarter: Vec<f64> = (0..40).map(|i| f64::from(i % 4 == 0)).collect();
        let with = |mut r: RunRecord, keys: &[&str], v: &[f64]| {
            for key in keys {
                let q = v
                    .iter()
                    .enumerate()
                    .map(|(i, x)| (format!("q{i:02}"), *x))
                    .collect();
                r.per_query.insert((*key).to_owned(), q);
            }
            r.with_means()
        };
        let parallel: Vec<&str> = PARALLEL_MEASURES.iter().map(|m| m.0).collect();
        let recall: Vec<&str> = ALIGNMENT_RECALL.iter().map(|h| h.key).collect();
        let records = vec![
            with(
                record("flores:hau", "zero-shot", None, &quarter),
                &[&parallel[..], &recall[..]].concat(),
                &quarter,
            ),
            with(
                record("flores:hau", "optical", Some(0), &ones),
                &[&parallel[..], &recall[..]].concat(),
                &ones,
            ),
            with(
                record("flores:hau", "bm25", None, &quarter),
                &recall,
                &quarter,
            ),
            with(record("xquad:de", "zero-shot", None, &ones), &recall, &ones),
        ];
        let columns = ["flores:hau".to_owned(), "xquad:de".to_owned()];
        let grid = Grid::new(&config, &columns, &records);
        let md = alignment(&config, &grid);
        // Recall tables span both columns; BM25 has a run (recall) but no parallel diagnostics.
        assert!(md.contains("**R@1 (query language → English)**"), "{md}");
        assert!(md.contains("| bm25 | .250 | – | – |"), "{md}");
        assert!(md.contains("| optical | 1.000†‡ | – | – |"), "{md}");
        let rev = md.split("**English → X R@1**").nth(1).unwrap();
        let rev = rev.split("**").next().unwrap();
        assert!(rev.contains("| method | flores:hau | mean |"), "{rev}");
        assert!(rev.contains("| zero-shot | .250 | .250 |"), "{rev}");
        assert!(rev.contains("| optical | 1.000†‡ | 1.000 |"), "{rev}");
        assert!(!rev.contains("bm25"), "{rev}");
        assert!(
            md.contains("**cosine gap (parallel − non-parallel)**"),
            "{md}"
        );
        assert!(!md.contains("token AER"), "{md}");
        let mut switched = config.clone();
        switched.token_alignment = true;
        let md = alignment(&switched, &grid);
        assert!(
            md.contains("no record has the token diagnostics yet"),
            "{md}"
        );
        assert!(!md.contains("token AER"), "{md}");

        // With token diagnostics: their tables cover the parallel columns, for the rows that
        // measured them (here optical only).
        let mut config = config;
        config.token_alignment = true;
        config.check().unwrap();
        let tokens: Vec<&str> = TOKEN_MEASURES.iter().map(|m| m.0).collect();
        let mut records = records;
        records[1] = with(records[1].clone(), &tokens, &quarter);
        let grid = Grid::new(&config, &columns, &records);
        let md = alignment(&config, &grid);
        let aer = md
            .split(&format!("**{}**", TOKEN_MEASURES[0].1))
            .nth(1)
            .unwrap();
        let aer = aer.split("**").next().unwrap();
        assert!(aer.contains("| method | flores:hau | mean |"), "{aer}");
        assert!(aer.contains("| optical | .250"), "{aer}");
        assert!(!aer.contains("zero-shot"), "{aer}");
        assert!(md.contains("Melamed's competitive linking"), "{md}");
        config.alignment = false;
        assert!(config.check().is_err());
    }

    #[test]
    fn gap_tables_subtract_group_means_with_paired_intervals() {
        let config: ExperimentConfig = toml::from_str(
            r#"
name = "t"
seeds = [0]
collections = ["flores:de", "flores:hau", "xquad:de"]
gap = { high = ["deu"], low = ["ha"] }
[[method]]
name = "zero-shot"
kind = "dense"
[[method]]
name = "optical"
kind = "distil"
role = "system"
"#,
        )
        .unwrap();
        config.check().unwrap();
        let half: Vec<f64> = (0..40).map(|i| f64::from(i % 2 == 0)).collect();
        let records = vec![
            record("flores:de", "zero-shot", None, &[1.0; 40]),
            record("flores:hau", "zero-shot", None, &[0.0; 40]),
            record("flores:de", "optical", Some(0), &[1.0; 40]),
            record("flores:hau", "optical", Some(0), &half),
            record("xquad:de", "optical", Some(0), &[1.0; 40]),
        ];
        let columns: Vec<(String, crate::data::CollectionSpec)> = config
            .collections
            .iter()
            .map(|c| (c.clone(), c.parse().unwrap()))
            .collect();
        let names: Vec<String> = columns.iter().map(|c| c.0.clone()).collect();
        let grid = Grid::new(&config, &names, &records);
        let md = gap(&config, &grid, &columns);
        // xquad has no low-resource column: only the flores family is reported.
        assert!(
            md.contains("**flores** — high: `flores:de`; low: `flores:hau`"),
            "{md}"
        );
        assert!(!md.contains("**xquad**"), "{md}");
        assert!(
            md.contains("| zero-shot | 1.000 | .000 | +1.000 [+1.000, +1.000] | – |"),
            "{md}"
        );
        let row = md.lines().find(|l| l.starts_with("| optical |")).unwrap();
        let cells: Vec<&str> = row.split('|').map(str::trim).collect();
        assert_eq!(&cells[2..4], &["1.000", ".500"], "{row}");
        // Gap .5 with a sampling interval around it; Δ −.5.
        assert!(cells[4].starts_with("+0.500 ["), "{row}");
        assert!(cells[5].starts_with("-0.500 ["), "{row}");
        let nums = |s: &str| -> Vec<f64> {
            s.trim_start_matches(|c| c != '[')
                .trim_matches(|c| c == '[' || c == ']')
                .split(", ")
                .map(|x| x.parse().unwrap())
                .collect()
        };
        let (g, d) = (nums(cells[4]), nums(cells[5]));
        assert!(g[0] < 0.5 && 0.5 < g[1] && g[1] - g[0] < 0.5, "{row}");
        // zero-shot's gap is 1 in every resample, so Δ is the optical gap shifted by −1.
        assert!((d[0] - (g[0] - 1.0)).abs() < 2e-3 && (d[1] - (g[1] - 1.0)).abs() < 2e-3);
        let mut overlapping = config.clone();
        overlapping.gap.as_mut().unwrap().low.push("de".into());
        assert!(overlapping.check().is_err());
    }

    #[test]
    fn noise_curves_give_areas_and_drops() {
        let config: ExperimentConfig = toml::from_str(
            r#"
name = "t"
seeds = [0]
collections = ["afriqa:hau"]
[noise]
kinds = "typo"
rates = [0.0, 0.1, 0.2]
[[method]]
name = "zero-shot"
kind = "dense"
[[method]]
name = "optical"
kind = "distil"
role = "system"
"#,
        )
        .unwrap();
        config.check().unwrap();
        let sets: Vec<super::super::EvalSet> = config
            .eval_sets()
            .unwrap()
            .into_iter()
            .map(|(_, s)| s)
            .collect();
        let names: Vec<String> = sets.iter().map(|s| s.to_string()).collect();
        assert_eq!(
            names,
            [
                "afriqa:hau:test@0",
                "afriqa:hau:test@0.1",
                "afriqa:hau:test@0.2"
            ]
        );
        // zero-shot falls from 1 to 0.5 to 0 on every query; optical stays at 1 on 3 of 4.
        let flat = |v: f64| vec![v; 40];
        let robust: Vec<f64> = (0..40)
            .map(|i| if i % 4 == 0 { 0.0 } else { 1.0 })
            .collect();
        let mut records = Vec::new();
        for (name, zs) in names.iter().zip([1.0, 0.5, 0.0]) {
            records.push(record(name, "zero-shot", None, &flat(zs)));
            records.push(record(name, "optical", Some(0), &robust));
        }
        let grid = Grid::new(&config, &names, &records);
        let curves = curves(&sets);
        assert_eq!(curves.len(), 1);
        assert_eq!(curves[0].1.len(), 3);
        let md = robustness(&config, &grid, &curves);
        // zero-shot: area (0.1·.75 + 0.1·.25)/0.2 = .5, drops 50% and 100%; optical: .75, 0%.
        assert!(md.contains("| zero-shot | .500 | 50.0% | 100.0% |"), "{md}");
        assert!(md.contains("| optical | .750† | 0.0%† | 0.0%† |"), "{md}");
    }

    #[test]
    fn formats_like_ir_tables() {
        assert_eq!(fmt3(0.3481), ".348");
        assert_eq!(fmt3(1.0), "1.000");
        assert_eq!(fmt3(0.0), ".000");
    }
}
