//! Tables from run records: methods × collections per headline measure, means over seeds, paired
//! significance against the baseline row and the best baseline of each collection.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;

use clir_metrics::stats::{holm, randomization};

use super::config::{ExperimentConfig, MethodRole};
use super::record::{HEADLINE, Headline, RunRecord};

/// Permutations of the paired randomization test.
pub const PERMUTATIONS: usize = 10_000;
/// Significance level.
pub const ALPHA: f64 = 0.05;

/// One (collection, method) cell aggregated over its seeds.
#[derive(Debug, Clone, PartialEq)]
pub struct Cell {
    /// Seeds present.
    pub seeds: usize,
    /// Measure key → query id → value averaged over the seeds.
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
        let first = records.first()?;
        let mut per_query: BTreeMap<String, BTreeMap<String, f64>> = BTreeMap::new();
        for (key, values) in &first.per_query {
            let mut avg = BTreeMap::new();
            for qid in values.keys() {
                let sum: f64 = records
                    .iter()
                    .map(|r| {
                        r.per_query
                            .get(key)
                            .and_then(|v| v.get(qid))
                            .copied()
                            .unwrap_or(0.0)
                    })
                    .sum();
                avg.insert(qid.clone(), sum / records.len() as f64);
            }
            per_query.insert(key.clone(), avg);
        }
        let means = per_query
            .iter()
            .map(|(k, v)| (k.clone(), mean(v.values().copied())))
            .collect();
        let seed_sd = first
            .means
            .keys()
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
    fn values(&self, key: &str, ids: &[String]) -> Vec<f64> {
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
        config
            .methods
            .iter()
            .filter(|m| m.role == MethodRole::Baseline)
            .filter_map(|m| {
                let v = *self.cell(collection, &m.name)?.mean.get(HEADLINE[0].key)?;
                Some((m.name.clone(), v))
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
    for h in HEADLINE {
        table(&mut out, config, grid, h, &baseline);
    }
    let _ = writeln!(
        out,
        "Means over queries of per-query values averaged over seeds; `(k/n)` marks a cell with only \
         k of n seeds done, `–` a cell not run yet. † : significantly different from `{baseline}`; \
         ‡ : from the best baseline of the column (named under each table); paired randomization \
         test ({PERMUTATIONS} permutations) on the seed-averaged per-query values, Holm-corrected \
         over the collections of a row, p < {ALPHA}. Reference rows are not tested.\n"
    );
    provenance(&mut out, config, grid);
    out
}

fn table(out: &mut String, config: &ExperimentConfig, grid: &Grid, h: Headline, baseline: &str) {
    let _ = writeln!(out, "**{}**\n", h.label);
    let _ = write!(out, "| method |");
    for c in &grid.collections {
        let _ = write!(out, " {c} |");
    }
    let _ = writeln!(out, " mean |");
    let _ = writeln!(out, "|---|{}---|", "---|".repeat(grid.collections.len()));
    let best: BTreeMap<String, Option<String>> = grid
        .collections
        .iter()
        .map(|c| (c.clone(), grid.best_baseline(config, c)))
        .collect();
    for m in &config.methods {
        let tested = m.role != MethodRole::Reference;
        let vs_base = if tested && m.name != baseline {
            compare_row(grid, &m.name, h.key, |_| Some(baseline.to_owned()))
        } else {
            BTreeMap::new()
        };
        let vs_best = if tested && m.role == MethodRole::System {
            compare_row(grid, &m.name, h.key, |c| best.get(c).cloned().flatten())
        } else {
            BTreeMap::new()
        };
        let _ = write!(out, "| {} |", m.name);
        let mut row_means = Vec::new();
        for c in &grid.collections {
            let Some(cell) = grid.cell(c, &m.name) else {
                let _ = write!(out, " – |");
                continue;
            };
            let v = cell.mean.get(h.key).copied().unwrap_or(f64::NAN);
            row_means.push(v);
            let mut marks = String::new();
            if vs_base.get(c).is_some_and(|(_, p)| *p < ALPHA) {
                marks.push('†');
            }
            if vs_best.get(c).is_some_and(|(_, p)| *p < ALPHA) {
                marks.push('‡');
            }
            let seeded = m.kind.seeded()
                || m.of
                    .iter()
                    .any(|o| config.method(o).is_some_and(|x| x.kind.seeded()));
            let partial = if seeded && cell.seeds < grid.seeds_expected {
                format!(" ({}/{})", cell.seeds, grid.seeds_expected)
            } else {
                String::new()
            };
            let _ = write!(out, " {}{marks}{partial} |", fmt3(v));
        }
        if row_means.len() == grid.collections.len() {
            let _ = writeln!(out, " {} |", fmt3(mean(row_means.into_iter())));
        } else {
            let _ = writeln!(out, " – |");
        }
    }
    let names: Vec<String> = grid
        .collections
        .iter()
        .filter_map(|c| Some(format!("{c}: `{}`", best.get(c)?.as_ref()?)))
        .collect();
    if !names.is_empty() {
        let _ = writeln!(out, "\nBest baseline by nDCG@10 — {}.\n", names.join(", "));
    } else {
        let _ = writeln!(out);
    }
}

fn provenance(out: &mut String, config: &ExperimentConfig, grid: &Grid) {
    let _ = writeln!(
        out,
        "| method | cells done | ran on | wall time (s, all cells) | training pairs/s | Sinkhorn share of step time | peak RSS (MB) |"
    );
    let _ = writeln!(out, "|---|---|---|---|---|---|---|");
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
        let wall: f64 = cells.iter().map(|c| c.wall_s).sum();
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
        let _ = writeln!(
            out,
            "| {} | {}/{} | {hosts} | {wall:.0} | {rate} | {share} | {rss} |",
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
mod tests {
    use super::*;
    use crate::experiment::config::ExperimentConfig;

    fn record(collection: &str, method: &str, seed: Option<u64>, vals: &[f64]) -> RunRecord {
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
        assert!(
            md.contains("| optical | 1/1 | cpu | 2 | – | – | – |"),
            "{md}"
        );
        assert_eq!(
            grid.best_baseline(&config, "afriqa:hau:test").as_deref(),
            Some("zero-shot")
        );
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
