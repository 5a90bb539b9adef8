//! The report of a language-mix grid ([`MixGrid`](super::MixGrid)): nDCG@10 of each language
//! group against the low-resource share `r` and the bitext budget, with least-squares trends and
//! bootstrap intervals.
//!
//! A *group* is the columns of one collection family whose language is in the mix's low (or
//! high) group, e.g. the AfriQA-R columns of Hausa, Yoruba, … Its value for a row is the mean of
//! its columns' nDCG@10 (every language weighs the same). Trends are ordinary least squares over
//! the grid points that exist: the slope against `r` at each budget, and the change per doubling
//! of the budget (slope against `log2 budget`) at each share. Their 95% intervals come from
//! stratified bootstrap resamples of each column's queries (seed-averaged per-query values, the
//! same resample for every row), so they carry query-sampling uncertainty; seed variation is
//! averaged in, and the tables show how many seeds each point has.

use std::fmt::Write as _;

use clir_metrics::stats::percentile;
use rand::{Rng, SeedableRng};

use super::config::ExperimentConfig;
use super::plot::{Chart, Series};
use super::record::HEADLINE;
use super::report::{GAP_RESAMPLES, Grid, fmt3};
use crate::data::CollectionSpec;

/// The columns of one language group in one collection family.
#[derive(Debug, Clone, PartialEq)]
pub struct Group {
    /// `"afriqa low"`, `"xquad high"`, …
    pub label: String,
    /// The columns.
    pub columns: Vec<String>,
    /// Query ids of each column.
    ids: Vec<Vec<String>>,
}

/// One expanded row of the grid, with its per-group values.
struct Point<'a> {
    base: &'a str,
    share: f64,
    budget: usize,
    /// Per group: per column the seed-averaged per-query values (`None`: a cell is missing).
    values: Vec<Option<Vec<Vec<f64>>>>,
    /// Per group: the fewest seeds among its cells.
    seeds: Vec<usize>,
}

/// A least-squares line with the slopes of the bootstrap resamples (NaN where a resample has
/// no fit).
struct Fit {
    intercept: f64,
    slope: f64,
    xs: Vec<f64>,
    slopes: Vec<f64>,
}

/// The Markdown and the charts of a mix grid's scaling analysis.
#[derive(Debug, Clone, Default)]
pub struct Scaling {
    /// Tables and notes (empty without `[mix]` or records).
    pub markdown: String,
    /// `(file-name suffix, alt text, chart)`: per group, nDCG@10 against `r` and, with two or
    /// more budgets, against the budget.
    pub charts: Vec<(String, String, Chart)>,
}

/// Ordinary least-squares `(intercept, slope)` of `ys` on `xs`; `None` with fewer than two
/// distinct `xs`.
///
/// ```
/// use optical::experiment::scaling::ols;
/// let (a, b) = ols(&[0.0, 0.5, 1.0], &[0.2, 0.3, 0.4]).unwrap();
/// assert!((a - 0.2).abs() < 1e-12 && (b - 0.2).abs() < 1e-12);
/// assert!(ols(&[1.0, 1.0], &[0.0, 1.0]).is_none());
/// ```
pub fn ols(xs: &[f64], ys: &[f64]) -> Option<(f64, f64)> {
    let n = xs.len().min(ys.len()) as f64;
    let mx = xs.iter().sum::<f64>() / n;
    let my = ys.iter().sum::<f64>() / n;
    let sxx: f64 = xs.iter().map(|x| (x - mx) * (x - mx)).sum();
    let sxy: f64 = xs.iter().zip(ys).map(|(x, y)| (x - mx) * (y - my)).sum();
    if xs.len() < 2 || sxx <= 1e-12 {
        return None;
    }
    let slope = sxy / sxx;
    Some((my - slope * mx, slope))
}

/// The 2.5% and 97.5% percentiles (linear interpolation, as numpy).
fn interval(mut xs: Vec<f64>) -> (f64, f64) {
    xs.sort_by(f64::total_cmp);
    (percentile(&xs, 0.025), percentile(&xs, 0.975))
}

/// A y range around the series' values (± error bars), padded and rounded out to 0.05.
fn zoom(series: &[Series]) -> (f64, f64) {
    let (lo, hi) = series
        .iter()
        .flat_map(|s| s.points.iter().flatten())
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &(v, e)| {
            (lo.min(v - e), hi.max(v + e))
        });
    if lo > hi {
        return (0.0, 1.0);
    }
    let lo = ((lo - 0.02) * 20.0).floor() / 20.0;
    let hi = ((hi + 0.02) * 20.0).ceil() / 20.0;
    (lo.max(0.0), hi.min(1.0))
}

/// Shares are copied, never computed, so equality is exact.
fn same(a: f64, b: f64) -> bool {
    a.total_cmp(&b).is_eq()
}

fn mean(xs: impl Iterator<Item = f64>) -> f64 {
    let (s, n) = xs.fold((0.0, 0usize), |(s, n), x| (s + x, n + 1));
    if n == 0 { 0.0 } else { s / n as f64 }
}

/// The language groups of `columns`: per collection family (in column order), its low- then
/// high-resource columns, where any exist and some row has values on them.
pub fn groups(
    config: &ExperimentConfig,
    grid: &Grid,
    columns: &[(String, CollectionSpec)],
) -> Vec<Group> {
    let Some(mix) = &config.mix else {
        return Vec::new();
    };
    let classes = mix.groups();
    let key = HEADLINE[0].key;
    let mut families: Vec<&str> = Vec::new();
    for (_, spec) in columns {
        if !families.contains(&spec.family()) {
            families.push(spec.family());
        }
    }
    let mut out = Vec::new();
    for family in families {
        for (high, side) in [(false, "low"), (true, "high")] {
            let cols: Vec<String> = columns
                .iter()
                .filter(|(_, s)| {
                    s.family() == family && classes.is_high(s.language()) == Some(high)
                })
                .map(|(c, _)| c.clone())
                .collect();
            let ids: Vec<Vec<String>> = cols
                .iter()
                .map(|c| {
                    grid.methods
                        .iter()
                        .find_map(|m| grid.cell(c, m)?.per_query.get(key))
                        .map(|v| v.keys().cloned().collect())
                        .unwrap_or_default()
                })
                .collect();
            if !cols.is_empty() && ids.iter().all(|i| !i.is_empty()) {
                out.push(Group {
                    label: format!("{family} {side}"),
                    columns: cols,
                    ids,
                });
            }
        }
    }
    out
}

/// Per column of `group`, the seed-averaged per-query nDCG@10 of `row` and the fewest seeds.
fn group_values(grid: &Grid, row: &str, group: &Group) -> Option<(Vec<Vec<f64>>, usize)> {
    let key = HEADLINE[0].key;
    let mut seeds = usize::MAX;
    let values = group
        .columns
        .iter()
        .zip(&group.ids)
        .map(|(c, ids)| {
            let cell = grid.cell(c, row)?;
            cell.mean.get(key)?;
            seeds = seeds.min(cell.seeds);
            Some(cell.values(key, ids))
        })
        .collect::<Option<Vec<_>>>()?;
    Some((values, seeds))
}

fn group_mean(values: &[Vec<f64>]) -> f64 {
    mean(values.iter().map(|q| mean(q.iter().copied())))
}

/// The scaling section of a mix grid from its aggregated `grid` (see the [module docs](self)).
pub fn scaling(
    config: &ExperimentConfig,
    grid: &Grid,
    columns: &[(String, CollectionSpec)],
) -> Scaling {
    let Some(mix) = &config.mix else {
        return Scaling::default();
    };
    let groups = groups(config, grid, columns);
    if groups.is_empty() {
        return Scaling::default();
    }
    let points: Vec<Point<'_>> = config
        .mix_rows()
        .map(|(m, p)| {
            let found: Vec<Option<(Vec<Vec<f64>>, usize)>> = groups
                .iter()
                .map(|g| group_values(grid, &m.name, g))
                .collect();
            Point {
                base: &p.base,
                share: p.share,
                budget: p.budget,
                seeds: found
                    .iter()
                    .map(|f| f.as_ref().map_or(0, |f| f.1))
                    .collect(),
                values: found.into_iter().map(|f| f.map(|f| f.0)).collect(),
            }
        })
        .collect();
    // Rows outside the mix (zero-shot, …): constant references.
    let references: Vec<(&str, Vec<Option<f64>>)> = config
        .methods
        .iter()
        .filter(|m| m.mix.is_none())
        .map(|m| {
            let v = groups
                .iter()
                .map(|g| group_values(grid, &m.name, g).map(|(v, _)| group_mean(&v)))
                .collect();
            (m.name.as_str(), v)
        })
        .filter(|(_, v): &(&str, Vec<Option<f64>>)| v.iter().any(Option::is_some))
        .collect();
    let mut bases: Vec<&str> = Vec::new();
    for p in &points {
        if !bases.contains(&p.base) {
            bases.push(p.base);
        }
    }

    // Bootstrap: per point and group, the group mean under each resample of the queries.
    let mut rng = rand_chacha::ChaCha8Rng::seed_from_u64(0);
    let mut boots: Vec<Vec<Vec<f64>>> =
        vec![vec![Vec::with_capacity(GAP_RESAMPLES); groups.len()]; points.len()];
    let mut draws: Vec<Vec<usize>> = Vec::new();
    for _ in 0..GAP_RESAMPLES {
        for (g, group) in groups.iter().enumerate() {
            draws.clear();
            for ids in &group.ids {
                let n = ids.len();
                draws.push((0..n).map(|_| rng.random_range(0..n)).collect());
            }
            for (p, point) in points.iter().enumerate() {
                if let Some(values) = &point.values[g] {
                    let m = mean(
                        values
                            .iter()
                            .zip(&draws)
                            .map(|(v, d)| d.iter().map(|&i| v[i]).sum::<f64>() / d.len() as f64),
                    );
                    boots[p][g].push(m);
                }
            }
        }
    }
    let observed = |p: &Point<'_>, g: usize| p.values[g].as_deref().map(group_mean);
    let se = |p: usize, g: usize| -> f64 {
        let b = &boots[p][g];
        let m = mean(b.iter().copied());
        (b.iter().map(|x| (x - m) * (x - m)).sum::<f64>() / (b.len().max(2) - 1) as f64).sqrt()
    };
    // A fit over the points `members` (index, x) of group `g` that have values.
    let fit = |members: &[(usize, f64)], g: usize| -> Option<Fit> {
        let have: Vec<(usize, f64)> = members
            .iter()
            .copied()
            .filter(|&(p, _)| points[p].values[g].is_some())
            .collect();
        let xs: Vec<f64> = have.iter().map(|h| h.1).collect();
        let ys: Vec<f64> = have
            .iter()
            .map(|&(p, _)| observed(&points[p], g).unwrap_or(f64::NAN))
            .collect();
        let (intercept, slope) = ols(&xs, &ys)?;
        let slopes: Vec<f64> = (0..GAP_RESAMPLES)
            .map(|i| {
                let ys: Vec<f64> = have.iter().map(|&(p, _)| boots[p][g][i]).collect();
                ols(&xs, &ys).map_or(f64::NAN, |f| f.1)
            })
            .collect();
        Some(Fit {
            intercept,
            slope,
            xs,
            slopes,
        })
    };
    // The fits of every base over the same members, with the reference (first) base's fit.
    let reference = bases.first().copied().unwrap_or_default();
    let delta = |f: &Fit, r: Option<&Fit>| -> String {
        match r {
            Some(r) if f.xs.len() == r.xs.len() => {
                let same_design = f.xs.iter().zip(&r.xs).all(|(a, b)| same(*a, *b));
                if !same_design {
                    return "–".into();
                }
                let d: Vec<f64> = f.slopes.iter().zip(&r.slopes).map(|(a, b)| a - b).collect();
                let (lo, hi) = interval(d);
                format!("{:+.3} [{lo:+.3}, {hi:+.3}]", f.slope - r.slope)
            }
            _ => "–".into(),
        }
    };

    let mut md = String::new();
    let _ = writeln!(
        md,
        "#### Scaling with the low-resource share\n\nLow-resource languages: {}; high-resource: \
         {}. Each student is trained on one mix: at share r the low-resource languages split r \
         of the budget equally and the high-resource ones 1 − r. A group's value is the mean \
         nDCG@10 of its columns ({}). Seeds per point in parentheses where fewer than {}.\n",
        mix.low.join(", "),
        mix.high.join(", "),
        groups
            .iter()
            .map(|g| format!("{}: {}", g.label, g.columns.join(", ")))
            .collect::<Vec<_>>()
            .join("; "),
        config.seeds.len()
    );
    for &budget in &mix.budgets {
        let _ = writeln!(md, "**Budget {budget} pairs** (nDCG@10)\n");
        let _ = write!(md, "| r |");
        for base in &bases {
            for g in &groups {
                let _ = write!(md, " {base}: {} |", g.label);
            }
        }
        let _ = writeln!(md, "\n|---|{}", "---|".repeat(bases.len() * groups.len()));
        for &share in &mix.shares {
            let _ = write!(md, "| {share} |");
            for base in &bases {
                let p = points
                    .iter()
                    .position(|p| p.base == *base && same(p.share, share) && p.budget == budget);
                for g in 0..groups.len() {
                    let cell = p.and_then(|p| {
                        let v = observed(&points[p], g)?;
                        let s = points[p].seeds[g];
                        let partial = if s < config.seeds.len() {
                            format!(" ({s}/{})", config.seeds.len())
                        } else {
                            String::new()
                        };
                        Some(format!("{}{partial}", fmt3(v)))
                    });
                    let _ = write!(md, " {} |", cell.unwrap_or_else(|| "–".into()));
                }
            }
            let _ = writeln!(md);
        }
        for (name, values) in &references {
            let _ = write!(md, "| {name} |");
            for _ in &bases {
                for v in values {
                    let _ = write!(md, " {} |", v.map_or_else(|| "–".into(), fmt3));
                }
            }
            let _ = writeln!(md);
        }
        let _ = writeln!(md);
    }

    let _ = writeln!(
        md,
        "**Trend against the share** — least-squares line of the group's nDCG@10 over r at each \
         budget: its value at r = 0 and r = 1 and its slope (change from r = 0 to r = 1); 95% \
         intervals from {GAP_RESAMPLES} stratified bootstrap resamples of the queries, the same \
         resamples for every row, so Δ slope against `{reference}` is paired.\n\n\
         | method | budget | group | fit at r = 0 | fit at r = 1 | slope [95% CI] | Δ slope vs \
         `{reference}` [95% CI] |\n|---|---|---|---|---|---|---|"
    );
    let members = |base: &str, keep: &dyn Fn(&Point<'_>) -> Option<f64>| -> Vec<(usize, f64)> {
        points
            .iter()
            .enumerate()
            .filter(|(_, p)| p.base == base)
            .filter_map(|(i, p)| Some((i, keep(p)?)))
            .collect()
    };
    for &budget in &mix.budgets {
        let at_budget = |p: &Point<'_>| (p.budget == budget).then_some(p.share);
        for (g, group) in groups.iter().enumerate() {
            let reference_fit = fit(&members(reference, &at_budget), g);
            for base in &bases {
                let Some(f) = fit(&members(base, &at_budget), g) else {
                    continue;
                };
                let (lo, hi) = interval(f.slopes.clone());
                let _ = writeln!(
                    md,
                    "| {base} | {budget} | {} | {} | {} | {:+.3} [{lo:+.3}, {hi:+.3}] | {} |",
                    group.label,
                    fmt3(f.intercept),
                    fmt3(f.intercept + f.slope),
                    f.slope,
                    delta(&f, reference_fit.as_ref().filter(|_| *base != reference)),
                );
            }
        }
    }
    let _ = writeln!(md);
    if mix.budgets.len() > 1 {
        let _ = writeln!(
            md,
            "**Trend against the budget** — least-squares slope of the group's nDCG@10 against \
             log2(budget) at each share: the change per doubling of the bitext, 95% bootstrap \
             intervals as above.\n\n| method | r | group | per doubling [95% CI] | Δ vs \
             `{reference}` [95% CI] |\n|---|---|---|---|---|"
        );
        for &share in &mix.shares {
            let at_share = |p: &Point<'_>| same(p.share, share).then_some((p.budget as f64).log2());
            for (g, group) in groups.iter().enumerate() {
                let reference_fit = fit(&members(reference, &at_share), g);
                for base in &bases {
                    let Some(f) = fit(&members(base, &at_share), g) else {
                        continue;
                    };
                    let (lo, hi) = interval(f.slopes.clone());
                    let _ = writeln!(
                        md,
                        "| {base} | {share} | {} | {:+.3} [{lo:+.3}, {hi:+.3}] | {} |",
                        group.label,
                        f.slope,
                        delta(&f, reference_fit.as_ref().filter(|_| *base != reference)),
                    );
                }
            }
        }
        let _ = writeln!(md);
    }

    // Charts: error bars are bootstrap standard errors over queries.
    let mut charts = Vec::new();
    let reference_series = |g: usize, n: usize| -> Vec<Series> {
        references
            .iter()
            .filter_map(|(name, v)| {
                let v = v[g]?;
                Some(Series {
                    name: (*name).to_owned(),
                    points: vec![Some((v, 0.0)); n],
                })
            })
            .collect()
    };
    // One curve point: the group's observed mean of `base` at (share, budget), with its error.
    let point = |base: &str, share: f64, budget: usize, g: usize| -> Option<(f64, f64)> {
        let p = points
            .iter()
            .position(|p| p.base == base && same(p.share, share) && p.budget == budget)?;
        Some((observed(&points[p], g)?, se(p, g)))
    };
    let mut chart = |slug: String,
                     caption: String,
                     x_label: &str,
                     x: Vec<String>,
                     g: usize,
                     mut series: Vec<Series>| {
        series.extend(reference_series(g, x.len()));
        series.retain(|s| s.points.iter().any(Option::is_some));
        charts.push((
            slug,
            caption.clone(),
            Chart {
                title: caption,
                y_label: "nDCG@10".into(),
                x_label: x_label.into(),
                x,
                y_range: zoom(&series),
                series,
            },
        ));
    };
    for (g, group) in groups.iter().enumerate() {
        let slug = group.label.replace(' ', "-");
        let mut series = Vec::new();
        for base in &bases {
            for &budget in &mix.budgets {
                series.push(Series {
                    name: format!("{base}, {budget} pairs"),
                    points: mix
                        .shares
                        .iter()
                        .map(|&share| point(base, share, budget, g))
                        .collect(),
                });
            }
        }
        chart(
            format!("{slug}-share"),
            format!("{}: nDCG@10 against the low-resource share r", group.label),
            "low-resource share r of the bitext",
            mix.shares.iter().map(|s| s.to_string()).collect(),
            g,
            series,
        );
        if mix.budgets.len() > 1 {
            let mut ends = vec![mix.shares[0]];
            if mix.shares.len() > 1 {
                ends.push(mix.shares[mix.shares.len() - 1]);
            }
            let mut series = Vec::new();
            for base in &bases {
                for &share in &ends {
                    series.push(Series {
                        name: format!("{base}, r = {share}"),
                        points: mix
                            .budgets
                            .iter()
                            .map(|&budget| point(base, share, budget, g))
                            .collect(),
                    });
                }
            }
            chart(
                format!("{slug}-budget"),
                format!("{}: nDCG@10 against the bitext budget", group.label),
                "bitext pairs (all languages)",
                mix.budgets.iter().map(|b| b.to_string()).collect(),
                g,
                series,
            );
        }
    }
    Scaling {
        markdown: md,
        charts,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::experiment::RunRecord;

    /// A record whose every headline measure is 1 on the first `hits` of 20 queries, else 0.
    fn record(collection: &str, method: &str, seed: Option<u64>, hits: usize) -> RunRecord {
        let vals: Vec<f64> = (0..20).map(|i| if i < hits { 1.0 } else { 0.0 }).collect();
        crate::experiment::report::tests::record(collection, method, seed, &vals)
    }

    #[test]
    fn tables_and_trends_follow_the_share_and_the_budget() {
        let mut config: ExperimentConfig = toml::from_str(
            r#"
name = "t"
seeds = [0]
collections = ["afriqa:hau", "xquad:de"]
[mix]
low = ["hau"]
high = ["de"]
shares = [0.0, 0.5, 1.0]
budgets = [100, 200]
[[method]]
name = "zero-shot"
kind = "dense"
[[method]]
name = "sentence-kd"
kind = "distil"
[[method]]
name = "optical"
kind = "distil"
"#,
        )
        .unwrap();
        config.expand_mix();
        let (hau, de) = ("afriqa:hau:test", "xquad:de");
        let mut records = vec![
            record(hau, "zero-shot", None, 3),
            record(de, "zero-shot", None, 15),
        ];
        // Low group: 0.2 + 0.4 r (+0.1 at the larger budget); high group: 0.8 − 0.2 r.
        for (r, low, high) in [(0.0, 4, 16), (0.5, 8, 14), (1.0, 12, 12)] {
            for (budget, extra) in [(100, 0), (200, 2)] {
                let row = format!("optical+r{r}+b{budget}");
                records.push(record(hau, &row, Some(0), low + extra));
                records.push(record(de, &row, Some(0), high));
                // sentence-kd: low 0.2 + 0.2 r, high as optical.
                let row = format!("sentence-kd+r{r}+b{budget}");
                records.push(record(hau, &row, Some(0), 4 + (low - 4) / 2));
                records.push(record(de, &row, Some(0), high));
            }
        }
        let columns: Vec<(String, CollectionSpec)> = vec![
            (hau.into(), "afriqa:hau".parse().unwrap()),
            (de.into(), "xquad:de".parse().unwrap()),
        ];
        let grid = Grid::new(&config, &[hau.into(), de.into()], &records);
        let groups = groups(&config, &grid, &columns);
        assert_eq!(groups.len(), 2);
        assert_eq!(
            (groups[0].label.as_str(), groups[1].label.as_str()),
            ("afriqa low", "xquad high")
        );
        let report = scaling(&config, &grid, &columns);
        let md = &report.markdown;
        assert!(md.contains("| 0.5 | .300 | .700 | .400 | .700 |"), "{md}");
        assert!(
            md.contains("| zero-shot | .150 | .750 | .150 | .750 |"),
            "{md}"
        );
        // Slopes against r: +0.4 (low), −0.2 (high), at both budgets.
        assert!(
            md.contains("| optical | 100 | afriqa low | .200 | .600 | +0.400 ["),
            "{md}"
        );
        assert!(
            md.contains("| optical | 200 | xquad high | .800 | .600 | -0.200 ["),
            "{md}"
        );
        // Per doubling of the budget: +0.1 on the low group, 0 on the high one.
        assert!(
            md.contains("| optical | 0.5 | afriqa low | +0.100 ["),
            "{md}"
        );
        assert!(
            md.contains("| optical | 0.5 | xquad high | +0.000 [+0.000, +0.000] | +0.000 ["),
            "{md}"
        );
        // Δ slope against the first distil row (sentence-kd: slope +0.2 on the low group).
        let row = md
            .lines()
            .find(|l| l.starts_with("| optical | 100 | afriqa low |"))
            .unwrap();
        assert!(row.ends_with('|') && row.contains("| +0.200 ["), "{row}");
        let reference = "| sentence-kd | 100 | afriqa low | .200 | .400 | +0.200 [";
        assert!(md.contains(reference), "{md}");
        // Two groups × (share, budget) charts; the share chart has a series per method and
        // budget plus zero-shot.
        assert_eq!(report.charts.len(), 4);
        let share_chart = &report.charts[0].2;
        assert_eq!(share_chart.series.len(), 5);
        assert_eq!(share_chart.series[2].name, "optical, 100 pairs");
        let p = share_chart.series[2].points[1].unwrap();
        assert!((p.0 - 0.4).abs() < 1e-12 && p.1 > 0.0);
    }

    #[test]
    fn ols_fits_a_line() {
        let (a, b) = ols(&[1.0, 2.0, 3.0, 4.0], &[1.0, 3.0, 2.0, 4.0]).unwrap();
        // numpy.polyfit([1,2,3,4], [1,3,2,4], 1) = [0.8, 0.5]
        assert!((b - 0.8).abs() < 1e-12 && (a - 0.5).abs() < 1e-12);
    }
}
