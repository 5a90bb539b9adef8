//! trec_eval's evaluation: per-query values, aggregates and text output.

use std::fmt::Write as _;

use hashbrown::HashTable;
use rayon::prelude::*;
use serde::Serialize;

use crate::error::{Error, Result};
use crate::ids::{QueryId, hash};
use crate::measure::{Measure, RECALL_LEVELS};
use crate::qrels::Qrels;
use crate::run::Run;

/// trec_eval's relevance value of a retrieved document absent from the qrels.
const NONPOOL: i32 = -1;
/// trec_eval's relevance value of a retrieved document judged with a negative label.
const UNJUDGED: i32 = -2;
/// trec_eval's floor for the geometric mean (`MIN_GEO_MEAN`).
const MIN_GEO_MEAN: f64 = 1e-5;
/// trec_eval's `INFAP_EPSILON`.
const INFAP_EPSILON: f64 = 1e-5;

/// Evaluates runs against qrels with trec_eval's options.
#[derive(Debug, Clone)]
pub struct Evaluator {
    measures: Vec<Measure>,
    relevance_level: i32,
    max_rank: Option<usize>,
    judged_only: bool,
    complete: bool,
}

impl Evaluator {
    /// An evaluator for `measures` (printed in trec_eval's order) with trec_eval's defaults.
    pub fn new(measures: impl IntoIterator<Item = Measure>) -> Self {
        Self {
            measures: crate::measure::normalise(measures.into_iter().collect()),
            relevance_level: 1,
            max_rank: None,
            judged_only: false,
            complete: false,
        }
    }

    /// `-l`: labels at or above `level` are relevant (default 1).
    pub fn relevance_level(mut self, level: i32) -> Self {
        self.relevance_level = level;
        self
    }

    /// `-M`: only the top `max_rank` documents of each query are evaluated.
    pub fn max_rank(mut self, max_rank: Option<usize>) -> Self {
        self.max_rank = max_rank;
        self
    }

    /// `-J`: unjudged documents are removed from the rankings before evaluation.
    pub fn judged_only(mut self, judged_only: bool) -> Self {
        self.judged_only = judged_only;
        self
    }

    /// `-c`: average over every query of the qrels (absent ones count as 0, and as the floor
    /// 1e-5 in `gm_map`), instead of over the queries of both qrels and run. As in trec_eval
    /// 9.0.8, only queries of both are evaluated and reported per query; counts (`num_rel`, ...)
    /// are summed over those.
    pub fn complete(mut self, complete: bool) -> Self {
        self.complete = complete;
        self
    }

    /// The measures, in output order.
    pub fn measures(&self) -> &[Measure] {
        &self.measures
    }

    /// Evaluates `run` against `qrels`.
    pub fn evaluate(&self, qrels: &Qrels, run: &Run) -> Result<Evaluation> {
        let mut order: Vec<(QueryId, &str)> = qrels.query_ids().collect();
        order.sort_unstable_by(|a, b| a.1.as_bytes().cmp(b.1.as_bytes()));
        let num_qrels_queries = order.len();
        let selected: Vec<(QueryId, QueryId, &str)> = order
            .into_iter()
            .filter_map(|(q, name)| run.query(name).map(|r| (q, r, name)))
            .collect();
        if selected.is_empty() {
            return Err(Error::NoQueries);
        }
        let m = self.measures.len();
        let rows: Vec<Vec<f64>> = selected
            .par_iter()
            .map_init(QueryScratch::default, |scratch, &(q, r, _)| {
                scratch.fill(self, qrels, q, run, r);
                let mut row = Vec::with_capacity(m);
                row.extend(self.measures.iter().map(|ms| scratch.measure(self, ms)));
                row
            })
            .collect();
        Ok(Evaluation {
            measures: self.measures.clone(),
            queries: selected
                .iter()
                .map(|&(_, _, name)| name.to_owned())
                .collect(),
            values: rows.into_iter().flatten().collect(),
            run_tag: run.tag.clone(),
            complete_over: self.complete.then_some(num_qrels_queries),
            // trec_eval 9.0.8's -c num_rel: labels > 0 over all qrels queries, whatever -l is.
            complete_num_rel: self.complete.then(|| {
                qrels
                    .judgements
                    .iter()
                    .flatten()
                    .filter(|j| j.1 > 0)
                    .count() as f64
            }),
        })
    }
}

/// One query's relevance list in rank order, trec_eval's `RES_RELS`.
#[derive(Debug, Default)]
struct QueryScratch {
    /// Relevance of each retrieved doc: label (>= 0), NONPOOL or UNJUDGED.
    rels: Vec<i32>,
    /// Number of judged docs at each non-negative level.
    rel_levels: Vec<u64>,
    num_rel: u64,
    num_rel_ret: u64,
    /// Judged docs below the relevance level.
    num_nonrel: u64,
    /// Positive labels in the qrels, descending (for ideal DCG).
    ideal: Vec<i32>,
    /// The query's judgements by docno (indices into them).
    judged: HashTable<u32>,
}

impl QueryScratch {
    fn fill(&mut self, ev: &Evaluator, qrels: &Qrels, q: QueryId, run: &Run, r: QueryId) {
        let judgements = qrels.judgements(q);
        let judged_name = |&i: &u32| qrels.docs.bytes(judgements[i as usize].0);
        self.judged.clear();
        self.judged
            .reserve(judgements.len(), |i| hash(judged_name(i)));
        for (i, &(d, _)) in judgements.iter().enumerate() {
            self.judged
                .insert_unique(hash(qrels.docs.bytes(d)), i as u32, |i| {
                    hash(judged_name(i))
                });
        }
        let ranking = run.ranking(r);
        let ranking = &ranking[..ev.max_rank.map_or(ranking.len(), |m| m.min(ranking.len()))];
        self.rels.clear();
        for &(d, _) in ranking {
            let name = run.docs.bytes(d);
            let found = self.judged.find(hash(name), |i| judged_name(i) == name);
            let rel = match found {
                Some(&i) if judgements[i as usize].1 < 0 => UNJUDGED,
                Some(&i) => judgements[i as usize].1,
                None => NONPOOL,
            };
            if !ev.judged_only || rel >= 0 {
                self.rels.push(rel);
            }
        }
        let max = judgements.iter().map(|j| j.1).max().unwrap_or(0).max(0) as usize;
        self.rel_levels.clear();
        self.rel_levels.resize(max + 1, 0);
        self.ideal.clear();
        for &(_, l) in judgements {
            if l >= 0 {
                self.rel_levels[l as usize] += 1;
            }
            if l > 0 {
                self.ideal.push(l);
            }
        }
        self.ideal.sort_unstable_by(|a, b| b.cmp(a));
        let level = ev.relevance_level;
        let lvl_idx = |l: i32| l.max(0) as usize;
        self.num_rel = self.rel_levels.iter().skip(lvl_idx(level)).sum();
        self.num_nonrel = self.rel_levels.iter().take(lvl_idx(level)).sum();
        self.num_rel_ret = self.rels.iter().filter(|&&r| r >= level).count() as u64;
    }

    fn is_rel(&self, level: i32, i: usize) -> bool {
        self.rels[i] >= level
    }

    fn measure(&self, ev: &Evaluator, m: &Measure) -> f64 {
        use Measure::*;
        let level = ev.relevance_level;
        let num_ret = self.rels.len();
        let num_rel = self.num_rel as f64;
        let ratio = |a: f64, b: f64| if b > 0.0 { a / b } else { 0.0 };
        let rel_in_top = |k: usize| {
            (0..k.min(num_ret))
                .filter(|&i| self.is_rel(level, i))
                .count()
        };
        let ap_top = |k: usize| {
            let mut found = 0u64;
            let mut sum = 0.0;
            for i in 0..k.min(num_ret) {
                if self.is_rel(level, i) {
                    found += 1;
                    sum += found as f64 / (i + 1) as f64;
                }
            }
            ratio(sum, num_rel)
        };
        match *m {
            NumQ => 1.0,
            NumRet => num_ret as f64,
            NumRel => num_rel,
            NumRelRet => self.num_rel_ret as f64,
            Map | GmMap => ap_top(num_ret),
            MapCut(k) => ap_top(k as usize),
            Rprec => {
                let r = (self.num_rel as usize).min(num_ret);
                ratio(rel_in_top(r) as f64, num_rel)
            }
            RecipRank => self.first_rel(level, num_ret),
            Rr(k) => self.first_rel(level, k.map_or(num_ret, |k| k as usize)),
            P(k) => rel_in_top(k as usize) as f64 / f64::from(k),
            Recall(k) => ratio(rel_in_top(k as usize) as f64, num_rel),
            Success(k) => f64::from(u8::from(rel_in_top(k as usize) > 0)),
            SetP => ratio(self.num_rel_ret as f64, num_ret as f64),
            SetRecall => ratio(self.num_rel_ret as f64, num_rel),
            SetF => {
                if self.num_rel_ret == 0 {
                    0.0
                } else {
                    let p = self.num_rel_ret as f64 / num_ret as f64;
                    let r = self.num_rel_ret as f64 / num_rel;
                    2.0 * p * r / (p + r)
                }
            }
            Bpref => self.bpref(level),
            InfAp => self.infap(level),
            Ndcg => self.ndcg(None, f64::from),
            NdcgCut(k) => self.ndcg(Some(k as usize), f64::from),
            NdcgExp(k) => self.ndcg(k.map(|k| k as usize), |l| 2f64.powi(l) - 1.0),
            IprecAtRecall(p) => self.iprec(level, p),
            GmBpref => self.bpref(level),
            RprecMult(p) => self.rprec_mult(level, p),
            // Default coefficients 1, -1, 0, 0: relevant retrieved count 1, others -1.
            Utility => self.num_rel_ret as f64 - (num_ret as f64 - self.num_rel_ret as f64),
            ElevenPtAvg => self.eleven_pt_avg(level),
            G => self.g(),
            NdcgRel => self.ndcg_rel(),
            Rndcg => self.rndcg(),
            BinG => {
                let mut found = 0usize;
                let mut sum = 0.0;
                for (i, &r) in self.rels.iter().enumerate() {
                    if r >= level {
                        found += 1;
                        sum += 1.0 / ((3 + i - found) as f64).log2();
                    }
                }
                if found > 0 { sum / num_rel } else { 0.0 }
            }
            RelativeP(k) => {
                if self.num_rel == 0 {
                    0.0
                } else {
                    let k = k as usize;
                    let found = rel_in_top(k) as f64;
                    found / k.min(self.num_rel as usize) as f64
                }
            }
            SetRelativeP => {
                if num_ret > 0 && self.num_rel > 0 {
                    self.num_rel_ret as f64 / num_ret.min(self.num_rel as usize) as f64
                } else {
                    0.0
                }
            }
            SetMap => {
                if num_ret > 0 && self.num_rel > 0 {
                    let rr = self.num_rel_ret as f64;
                    rr * rr / (num_ret as f64 * num_rel)
                } else {
                    0.0
                }
            }
            NumNonrelJudgedRet => {
                let unjudged = self.rels.iter().filter(|&&r| r < 0).count();
                (num_ret - unjudged) as f64 - self.num_rel_ret as f64
            }
            Judged(k) => {
                let n = (k as usize).min(num_ret);
                let judged = self.rels[..n].iter().filter(|&&r| r != NONPOOL).count();
                ratio(judged as f64, n as f64)
            }
        }
    }

    fn first_rel(&self, level: i32, k: usize) -> f64 {
        let k = k.min(self.rels.len());
        self.rels[..k]
            .iter()
            .position(|&r| r >= level)
            .map_or(0.0, |i| 1.0 / (i + 1) as f64)
    }

    /// DCG over the ranking (to `k`) divided by the ideal DCG; trec_eval's linear-gain `ndcg`
    /// ignores the relevance level and gives unjudged and negative labels gain 0.
    fn ndcg(&self, k: Option<usize>, gain: impl Fn(i32) -> f64) -> f64 {
        let n = k.map_or(self.rels.len(), |k| k.min(self.rels.len()));
        let dcg = self.rels[..n]
            .iter()
            .enumerate()
            .filter(|&(_, &r)| r > 0)
            .map(|(i, &r)| gain(r) / ((i + 2) as f64).log2())
            // Not `sum()`: an empty float sum is -0.0, which would print as "-0.0000".
            .fold(0.0, |acc, x| acc + x);
        let m = k.map_or(self.ideal.len(), |k| k.min(self.ideal.len()));
        let idcg = self.ideal[..m]
            .iter()
            .enumerate()
            .map(|(i, &r)| gain(r) / ((i + 2) as f64).log2())
            .fold(0.0, |acc, x| acc + x);
        if idcg > 0.0 { dcg / idcg } else { 0.0 }
    }

    fn bpref(&self, level: i32) -> f64 {
        let mut nonrel_so_far = 0u64;
        let mut bpref = 0.0;
        let denom = self.num_nonrel.min(self.num_rel) as f64;
        for &r in &self.rels {
            if r < 0 {
                continue;
            }
            if r < level {
                nonrel_so_far += 1;
            } else if nonrel_so_far > 0 {
                bpref += 1.0 - nonrel_so_far.min(self.num_rel) as f64 / denom;
            } else {
                bpref += 1.0;
            }
        }
        if self.num_rel > 0 {
            bpref / self.num_rel as f64
        } else {
            bpref
        }
    }

    fn infap(&self, level: i32) -> f64 {
        let (mut nonrel, mut rel, mut unjudged) = (0u64, 0u64, 0u64);
        let mut inf_ap = 0.0;
        for (j, &r) in self.rels.iter().enumerate() {
            if r == NONPOOL {
                continue;
            }
            if r == UNJUDGED {
                unjudged += 1;
                continue;
            }
            if r < level {
                nonrel += 1;
                continue;
            }
            rel += 1;
            if j == 0 {
                inf_ap += 1.0;
            } else {
                let fj = j as f64;
                let (rel_m1, nonrel) = ((rel - 1) as f64, nonrel as f64);
                inf_ap += 1.0 / (fj + 1.0)
                    + (fj / (fj + 1.0))
                        * ((rel_m1 + nonrel + unjudged as f64) / fj)
                        * ((rel_m1 + INFAP_EPSILON) / (rel_m1 + nonrel + 2.0 * INFAP_EPSILON));
            }
        }
        if self.num_rel > 0 {
            inf_ap / self.num_rel as f64
        } else {
            inf_ap
        }
    }

    /// trec_eval's default gain of a retrieved document: its label, 0 for unjudged and negative
    /// (gains are integers, so comparing them exactly is sound).
    fn gain(&self, i: usize) -> f64 {
        f64::from(self.rels[i].max(0))
    }

    /// The gain of the document at rank `i + 1` of the ideal ranking (0 past the relevant ones).
    fn ideal_gain(&self, i: usize) -> f64 {
        self.ideal.get(i).map_or(0.0, |&l| f64::from(l))
    }

    /// trec_eval 9.0.8's `G` with default gains (`m_G.c`).
    fn g(&self) -> f64 {
        let (mut sum_results, mut sum_cost, mut results_g) = (0.0, 0.0, 0.0);
        for i in 0..self.rels.len() {
            let gain = self.gain(i);
            sum_results += gain;
            // The ideal gain, or the minimum cost 1 once it falls below.
            sum_cost += self.ideal_gain(i).max(1.0);
            if gain > 0.0 {
                results_g += gain / (2.0 + sum_cost - sum_results).log2();
            }
        }
        let sum_ideal = self.ideal.iter().fold(0.0, |acc, &l| acc + f64::from(l));
        if sum_ideal > 0.0 {
            results_g / sum_ideal
        } else {
            0.0
        }
    }

    /// trec_eval 9.0.8's `ndcg_rel` with default gains (`m_ndcg_rel.c`): nDCG at each relevant
    /// document retrieved, and the final nDCG for each one not retrieved, averaged.
    fn ndcg_rel(&self) -> f64 {
        let num_ret = self.rels.len();
        let (mut results_dcg, mut ideal_dcg, mut sum) = (0.0, 0.0, 0.0);
        let mut num_rel_ret = 0usize;
        for i in 0..num_ret {
            let gain = self.gain(i);
            if gain > 0.0 {
                results_dcg += gain / ((i + 2) as f64).log2();
            }
            let ideal = self.ideal_gain(i);
            if ideal > 0.0 {
                ideal_dcg += ideal / ((i + 2) as f64).log2();
            }
            if gain > 0.0 {
                sum += results_dcg / ideal_dcg;
                num_rel_ret += 1;
            }
        }
        for i in num_ret..self.ideal.len() {
            ideal_dcg += self.ideal_gain(i) / ((i + 2) as f64).log2();
        }
        let num_rel = self.ideal.len();
        sum += (num_rel - num_rel_ret) as f64 * results_dcg / ideal_dcg;
        if sum > 0.0 { sum / num_rel as f64 } else { 0.0 }
    }

    /// trec_eval 9.0.8's `Rndcg` with default gains (`m_Rndcg.c`): nDCG averaged at the ranks
    /// where the ideal gain changes (and at the end of the ranking).
    fn rndcg(&self) -> f64 {
        if self.num_rel == 0 {
            return 0.0;
        }
        let num_ret = self.rels.len();
        let (mut results_dcg, mut ideal_dcg, mut sum) = (0.0, 0.0, 0.0);
        let mut changes = 0usize;
        let mut old = self.ideal_gain(0);
        let mut ideal = old;
        let mut i = 0;
        let mut at_change = |results_dcg: f64, ideal_dcg: f64, sum: &mut f64| {
            if ideal_dcg > 0.0 {
                *sum += results_dcg / ideal_dcg;
                changes += 1;
            }
        };
        while i < num_ret && ideal > 0.0 {
            let gain = self.gain(i);
            ideal = self.ideal_gain(i);
            if old.to_bits() != ideal.to_bits() {
                at_change(results_dcg, ideal_dcg, &mut sum);
                old = ideal;
            }
            if gain > 0.0 {
                results_dcg += gain / ((i + 2) as f64).log2();
            }
            if ideal > 0.0 {
                ideal_dcg += ideal / ((i + 2) as f64).log2();
            }
            i += 1;
        }
        if i < num_ret {
            for j in i..num_ret {
                let gain = self.gain(j);
                if gain > 0.0 {
                    results_dcg += gain / ((j + 2) as f64).log2();
                }
            }
            at_change(results_dcg, ideal_dcg, &mut sum);
        }
        while ideal > 0.0 {
            ideal = self.ideal_gain(i);
            if old.to_bits() != ideal.to_bits() {
                at_change(results_dcg, ideal_dcg, &mut sum);
                old = ideal;
            }
            if ideal > 0.0 {
                ideal_dcg += ideal / ((i + 2) as f64).log2();
            }
            i += 1;
        }
        sum / changes as f64
    }

    /// trec_eval 9.0.8's `Rprec_mult`: precision at `(long)(p R + 0.9)` documents; beyond the
    /// ranking, relevant retrieved over that cutoff; 0 when the cutoff is 0 or lies below the
    /// last relevant document retrieved.
    fn rprec_mult(&self, level: i32, p: f64) -> f64 {
        let num_ret = self.rels.len();
        let cutoff = (p * self.num_rel as f64 + 0.9) as usize;
        if cutoff > num_ret {
            return self.num_rel_ret as f64 / cutoff as f64;
        }
        let mut rel_so_far = self.num_rel_ret;
        for i in (1..=num_ret).rev() {
            if rel_so_far == 0 {
                break;
            }
            if i == cutoff {
                return rel_so_far as f64 / i as f64;
            }
            if self.rels[i - 1] >= level {
                rel_so_far -= 1;
            }
        }
        0.0
    }

    /// trec_eval 9.0.8's `11pt_avg`: interpolated precision at recall 0.0, 0.1, ..., 1.0 (in
    /// relevant documents `(long)(l R + 0.9)`), averaged; levels never reached count the
    /// interpolated precision reached so far.
    fn eleven_pt_avg(&self, level: i32) -> f64 {
        let num_ret = self.rels.len();
        let cutoffs = RECALL_LEVELS.map(|l| (l * self.num_rel as f64 + 0.9) as u64);
        let mut cut = cutoffs.len();
        while cut > 0 && cutoffs[cut - 1] > self.num_rel_ret {
            cut -= 1;
        }
        let mut int_precis = self.num_rel_ret as f64 / num_ret as f64;
        let mut sum = 0.0;
        let mut rel_so_far = self.num_rel_ret;
        for i in (1..=num_ret).rev() {
            if rel_so_far == 0 {
                break;
            }
            let precis = rel_so_far as f64 / i as f64;
            if int_precis < precis {
                int_precis = precis;
            }
            if self.rels[i - 1] >= level {
                while cut > 0 && rel_so_far == cutoffs[cut - 1] {
                    sum += int_precis;
                    cut -= 1;
                }
                rel_so_far -= 1;
            }
        }
        for _ in 0..cut {
            sum += int_precis;
        }
        sum / cutoffs.len() as f64
    }

    /// Interpolated precision at recall `p` (trec_eval 9's `iprec_at_recall`: the cutoff in
    /// relevant documents is `(long)(p * num_rel + 0.9)`).
    fn iprec(&self, level: i32, p: f64) -> f64 {
        let num_ret = self.rels.len();
        let cutoff = (p * self.num_rel as f64 + 0.9) as u64;
        if cutoff > self.num_rel_ret {
            return 0.0;
        }
        if num_ret == 0 {
            // trec_eval divides 0 by 0 here (only reachable with -J or -M 0).
            return f64::NAN;
        }
        // Max precision at any rank i whose rel_so_far >= cutoff (ranks up to num_ret).
        let mut best = self.num_rel_ret as f64 / num_ret as f64;
        let mut rel_so_far = self.num_rel_ret;
        for i in (1..=num_ret).rev() {
            if rel_so_far == 0 || rel_so_far < cutoff {
                break;
            }
            best = best.max(rel_so_far as f64 / i as f64);
            if self.rels[i - 1] >= level {
                if rel_so_far == cutoff {
                    return best;
                }
                rel_so_far -= 1;
            }
        }
        best
    }
}

/// Per-query values of several measures (rows: queries in qid byte order), with trec_eval's
/// aggregation and text output.
#[derive(Debug, Clone, Serialize)]
pub struct Evaluation {
    measures: Vec<Measure>,
    queries: Vec<String>,
    /// Row-major: `values[q * measures.len() + m]`.
    values: Vec<f64>,
    run_tag: String,
    /// With `-c`: the number of qrels queries to average over.
    complete_over: Option<usize>,
    /// With `-c`: trec_eval's `num_rel` summary.
    complete_num_rel: Option<f64>,
}

impl Serialize for Measure {
    fn serialize<S: serde::Serializer>(&self, s: S) -> std::result::Result<S::Ok, S::Error> {
        s.collect_str(self)
    }
}

impl Evaluation {
    /// The measures, in output order.
    pub fn measures(&self) -> &[Measure] {
        &self.measures
    }

    /// The evaluated queries, in trec_eval's order (byte order of the qids).
    pub fn queries(&self) -> &[String] {
        &self.queries
    }

    fn column(&self, m: &Measure) -> Option<usize> {
        self.measures.iter().position(|x| x == m)
    }

    /// Per-query values of `m`, aligned with [`Evaluation::queries`]. For `gm_map` these are
    /// the per-query average precisions.
    pub fn per_query(&self, m: &Measure) -> Option<Vec<f64>> {
        let c = self.column(m)?;
        let n = self.measures.len();
        Some(
            (0..self.queries.len())
                .map(|q| self.values[q * n + c])
                .collect(),
        )
    }

    /// The value of `m` for query `qid`.
    pub fn value(&self, qid: &str, m: &Measure) -> Option<f64> {
        let c = self.column(m)?;
        let q = self.queries.iter().position(|x| x == qid)?;
        Some(self.values[q * self.measures.len() + c])
    }

    /// trec_eval's aggregate of `m`: the sum for counts, the geometric mean for `gm_map`, the
    /// arithmetic mean otherwise. With `-c`, means divide by the number of qrels queries,
    /// `num_q` is that number and `num_rel` counts labels > 0 over all qrels queries (as
    /// trec_eval 9.0.8 does, whatever the relevance level).
    pub fn mean(&self, m: &Measure) -> Option<f64> {
        let v = self.per_query(m)?;
        let n = self.complete_over.unwrap_or(v.len()).max(v.len());
        let missing = (n - v.len()) as f64;
        let n = n as f64;
        Some(match m {
            Measure::NumQ if self.complete_over.is_some() => n,
            Measure::NumRel if self.complete_num_rel.is_some() => self.complete_num_rel?,
            _ if m.is_count() => v.iter().sum(),
            Measure::GmMap | Measure::GmBpref => {
                let logs: f64 = v.iter().map(|x| x.max(MIN_GEO_MEAN).ln()).sum();
                ((logs + missing * MIN_GEO_MEAN.ln()) / n).exp()
            }
            _ => v.iter().sum::<f64>() / n,
        })
    }

    /// trec_eval's text output: with `per_query`, each query's lines first (as `-q`), then the
    /// `all` lines, `runid` first when `runid` is true.
    pub fn to_trec_eval(&self, per_query: bool, runid: bool) -> String {
        let mut out = String::new();
        let line = |out: &mut String, m: &Measure, qid: &str, v: f64| {
            if m.is_count() {
                let _ = writeln!(out, "{:<22}\t{qid}\t{}", m.to_string(), v as i64);
            } else if v.is_nan() {
                // glibc's "%6.4f" of x86's 0.0 / 0.0.
                let _ = writeln!(out, "{:<22}\t{qid}\t{:>6}", m.to_string(), "-nan");
            } else {
                let _ = writeln!(out, "{:<22}\t{qid}\t{v:.4}", m.to_string());
            }
        };
        if per_query {
            let n = self.measures.len();
            for (q, qid) in self.queries.iter().enumerate() {
                for (c, m) in self.measures.iter().enumerate() {
                    if !matches!(m, Measure::GmMap | Measure::GmBpref | Measure::NumQ) {
                        line(&mut out, m, qid, self.values[q * n + c]);
                    }
                }
            }
        }
        if runid {
            let _ = writeln!(out, "{:<22}\tall\t{}", "runid", self.run_tag);
        }
        for m in &self.measures {
            line(&mut out, m, "all", self.mean(m).unwrap_or(0.0));
        }
        out
    }
}
