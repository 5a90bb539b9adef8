//! Measure names: parsing trec_eval / ir_measures names and printing trec_eval's.

use std::fmt;

use crate::error::{Error, Result};

/// trec_eval's default cutoffs for `P`, `recall`, `map_cut` and `ndcg_cut`.
pub const DEFAULT_CUTOFFS: [u32; 9] = [5, 10, 15, 20, 30, 100, 200, 500, 1000];
/// trec_eval's default cutoffs for `success`.
pub const SUCCESS_CUTOFFS: [u32; 3] = [1, 5, 10];
/// trec_eval's default multiples of R for `Rprec_mult`.
pub const RPREC_MULTIPLES: [f64; 10] = [0.2, 0.4, 0.6, 0.8, 1.0, 1.2, 1.4, 1.6, 1.8, 2.0];

/// trec_eval's default recall levels of `iprec_at_recall`.
pub const RECALL_LEVELS: [f64; 11] = [0.0, 0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9, 1.0];

/// One evaluation measure with its parameter. Names follow trec_eval 9.0.8 (`P_10`,
/// `ndcg_cut_10`, `iprec_at_recall_0.10`); the extras follow ir_measures (`RR@10`,
/// `nDCG(dcg='exp-log2')@10`).
#[derive(Debug, Clone, Copy, PartialEq)]
#[non_exhaustive]
pub enum Measure {
    /// Number of queries evaluated (summed, not averaged).
    NumQ,
    /// Number of documents retrieved (summed).
    NumRet,
    /// Number of relevant documents (summed).
    NumRel,
    /// Number of relevant documents retrieved (summed).
    NumRelRet,
    /// Mean average precision.
    Map,
    /// Geometric mean of average precision (floored at 1e-5), aggregate only.
    GmMap,
    /// Precision after R documents, R = number of relevant documents.
    Rprec,
    /// Binary preference (Buckley & Voorhees 2004).
    Bpref,
    /// Reciprocal rank of the first relevant document.
    RecipRank,
    /// Interpolated precision at a recall level.
    IprecAtRecall(f64),
    /// Precision at a cutoff.
    P(u32),
    /// Recall at a cutoff.
    Recall(u32),
    /// Inferred AP (Yilmaz & Aslam 2006), trec_eval's formula.
    InfAp,
    /// nDCG with linear gains (the label), over the whole ranking.
    Ndcg,
    /// nDCG with linear gains at a cutoff.
    NdcgCut(u32),
    /// Average precision of the top `k`, normalised by all relevant documents.
    MapCut(u32),
    /// 1 if a relevant document is in the top `k`.
    Success(u32),
    /// Precision of the whole retrieved set.
    SetP,
    /// Recall of the whole retrieved set.
    SetRecall,
    /// F1 of the whole retrieved set.
    SetF,
    /// Fraction of the top `k` (or of all, when fewer were retrieved) that is judged.
    Judged(u32),
    /// Binary preference, aggregated by the geometric mean (floored at 1e-5), aggregate only.
    GmBpref,
    /// Precision at `p` times the number of relevant documents (trec_eval's `Rprec_mult`).
    RprecMult(f64),
    /// trec_eval's `utility` with its default coefficients: relevant retrieved minus
    /// non-relevant retrieved.
    Utility,
    /// Interpolated precision averaged over the 11 recall levels 0.0, 0.1, ..., 1.0.
    ElevenPtAvg,
    /// trec_eval's experimental binary G: each relevant document retrieved scores
    /// `1 / log2(2 + non-relevant documents above it)`, summed and divided by R.
    BinG,
    /// trec_eval's experimental normalised gain `G` (label as gain): each retrieved document
    /// scores `gain / log2(2 + ideal cost so far - gain so far)`, summed and divided by the
    /// ideal total gain.
    G,
    /// trec_eval's experimental `ndcg_rel`: nDCG averaged over the relevant documents.
    NdcgRel,
    /// trec_eval's experimental `Rndcg`: nDCG averaged at the ranks where the ideal gain
    /// changes.
    Rndcg,
    /// Relevant documents in the top `k` divided by the most possible, `min(k, R)`.
    RelativeP(u32),
    /// Relevant retrieved divided by `min(retrieved, R)`.
    SetRelativeP,
    /// Set precision times set recall.
    SetMap,
    /// Number of judged non-relevant documents retrieved (summed).
    NumNonrelJudgedRet,
    /// ir_measures `RR@k`: reciprocal rank of the first relevant document in the top `k`
    /// (`None`: no cutoff).
    Rr(Option<u32>),
    /// ir_measures `nDCG(dcg='exp-log2')@k`: gains `2^rel - 1` (`None`: no cutoff).
    NdcgExp(Option<u32>),
}

impl Measure {
    /// trec_eval's output order of measure families.
    pub(crate) fn family_order(&self) -> (u8, f64) {
        use Measure::*;
        let opt = |k: Option<u32>| k.map_or(f64::INFINITY, f64::from);
        match *self {
            NumQ => (0, 0.0),
            NumRet => (1, 0.0),
            NumRel => (2, 0.0),
            NumRelRet => (3, 0.0),
            Map => (4, 0.0),
            GmMap => (5, 0.0),
            Rprec => (6, 0.0),
            Bpref => (7, 0.0),
            RecipRank => (8, 0.0),
            IprecAtRecall(l) => (9, l),
            P(k) => (10, f64::from(k)),
            Recall(k) => (11, f64::from(k)),
            InfAp => (12, 0.0),
            GmBpref => (13, 0.0),
            RprecMult(p) => (14, p),
            Utility => (15, 0.0),
            ElevenPtAvg => (16, 0.0),
            BinG => (17, 0.0),
            G => (18, 0.0),
            Ndcg => (19, 0.0),
            NdcgRel => (20, 0.0),
            Rndcg => (21, 0.0),
            NdcgCut(k) => (22, f64::from(k)),
            MapCut(k) => (23, f64::from(k)),
            RelativeP(k) => (24, f64::from(k)),
            Success(k) => (25, f64::from(k)),
            SetP => (26, 0.0),
            SetRelativeP => (27, 0.0),
            SetRecall => (28, 0.0),
            SetMap => (29, 0.0),
            SetF => (30, 0.0),
            NumNonrelJudgedRet => (31, 0.0),
            Judged(k) => (32, f64::from(k)),
            Rr(k) => (33, opt(k)),
            NdcgExp(k) => (34, opt(k)),
        }
    }

    /// Whether trec_eval sums this measure over queries (and prints it as an integer).
    pub fn is_count(&self) -> bool {
        matches!(
            self,
            Measure::NumQ
                | Measure::NumRet
                | Measure::NumRel
                | Measure::NumRelRet
                | Measure::NumNonrelJudgedRet
        )
    }

    /// Parses one measure name or a trec_eval `-m` argument (`P.5,10`, `official`, `all_trec`,
    /// `ndcg_cut_10`, `RR@10`, ...) into a list of measures.
    pub fn parse_list(spec: &str) -> Result<Vec<Measure>> {
        use Measure::*;
        let unknown = || Error::UnknownMeasure(spec.to_owned());
        match spec {
            "official" => return Ok(official()),
            "all_trec" => return Ok(all_trec()),
            _ => {}
        }
        if let Some(m) = parse_ir_measures(spec) {
            return m.map(|m| vec![m]);
        }
        // `family.params` or `family_param` or `family`.
        let (family, params) = match spec.split_once('.') {
            Some((f, p)) if known_family(f) => (f, Some(p)),
            _ => match spec.rsplit_once('_') {
                Some((f, p)) if known_family(f) && is_cutoff_family(f) => (f, Some(p)),
                _ => (spec, None),
            },
        };
        let cutoffs = |default: &[u32]| -> Result<Vec<u32>> {
            match params {
                None => Ok(default.to_vec()),
                Some(p) => p
                    .split(',')
                    .map(|c| {
                        c.trim()
                            .parse::<u32>()
                            .ok()
                            .filter(|&c| c > 0)
                            .ok_or_else(unknown)
                    })
                    .collect(),
            }
        };
        let levels =
            |default: &[f64], max: f64, make: fn(f64) -> Measure| -> Result<Vec<Measure>> {
                match params {
                    None => Ok(default.iter().map(|&l| make(l)).collect()),
                    Some(p) => p
                        .split(',')
                        .map(|c| {
                            c.trim()
                                .parse::<f64>()
                                .ok()
                                .filter(|l| (0.0..=max).contains(l))
                                .map(make)
                                .ok_or_else(unknown)
                        })
                        .collect(),
                }
            };
        let simple = |m: Measure| {
            if params.is_none() {
                Ok(vec![m])
            } else {
                Err(unknown())
            }
        };
        match family {
            "num_q" => simple(NumQ),
            "num_ret" => simple(NumRet),
            "num_rel" => simple(NumRel),
            "num_rel_ret" => simple(NumRelRet),
            "map" => simple(Map),
            "gm_map" => simple(GmMap),
            "Rprec" => simple(Rprec),
            "bpref" => simple(Bpref),
            "recip_rank" => simple(RecipRank),
            "infAP" => simple(InfAp),
            "ndcg" => simple(Ndcg),
            "set_P" => simple(SetP),
            "set_recall" => simple(SetRecall),
            "set_F" => simple(SetF),
            "gm_bpref" => simple(GmBpref),
            "utility" => simple(Utility),
            "11pt_avg" => simple(ElevenPtAvg),
            "binG" => simple(BinG),
            "G" => simple(G),
            "ndcg_rel" => simple(NdcgRel),
            "Rndcg" => simple(Rndcg),
            "set_relative_P" => simple(SetRelativeP),
            "set_map" => simple(SetMap),
            "num_nonrel_judged_ret" => simple(NumNonrelJudgedRet),
            "relative_P" => Ok(cutoffs(&DEFAULT_CUTOFFS)?
                .into_iter()
                .map(RelativeP)
                .collect()),
            "Rprec_mult" => levels(&RPREC_MULTIPLES, f64::MAX, RprecMult),
            "P" => Ok(cutoffs(&DEFAULT_CUTOFFS)?.into_iter().map(P).collect()),
            "recall" => Ok(cutoffs(&DEFAULT_CUTOFFS)?.into_iter().map(Recall).collect()),
            "ndcg_cut" => Ok(cutoffs(&DEFAULT_CUTOFFS)?
                .into_iter()
                .map(NdcgCut)
                .collect()),
            "map_cut" => Ok(cutoffs(&DEFAULT_CUTOFFS)?.into_iter().map(MapCut).collect()),
            "success" => Ok(cutoffs(&SUCCESS_CUTOFFS)?
                .into_iter()
                .map(Success)
                .collect()),
            "judged" => Ok(cutoffs(&[10])?.into_iter().map(Judged).collect()),
            "iprec_at_recall" => levels(&RECALL_LEVELS, 1.0, IprecAtRecall),
            _ => Err(unknown()),
        }
    }

    /// Parses several `-m` arguments into a sorted, de-duplicated list in trec_eval's order.
    pub fn parse_specs<S: AsRef<str>>(specs: &[S]) -> Result<Vec<Measure>> {
        let mut out = Vec::new();
        for s in specs {
            out.extend(Measure::parse_list(s.as_ref())?);
        }
        Ok(normalise(out))
    }
}

/// Sorts measures into trec_eval's output order and removes duplicates.
pub(crate) fn normalise(mut ms: Vec<Measure>) -> Vec<Measure> {
    ms.sort_by(|a, b| {
        let (fa, pa) = a.family_order();
        let (fb, pb) = b.family_order();
        fa.cmp(&fb).then(pa.total_cmp(&pb))
    });
    ms.dedup();
    ms
}

fn known_family(f: &str) -> bool {
    matches!(
        f,
        "P" | "recall"
            | "ndcg_cut"
            | "map_cut"
            | "success"
            | "judged"
            | "iprec_at_recall"
            | "num_q"
            | "num_ret"
            | "num_rel"
            | "num_rel_ret"
            | "map"
            | "gm_map"
            | "Rprec"
            | "bpref"
            | "recip_rank"
            | "infAP"
            | "ndcg"
            | "set_P"
            | "set_recall"
            | "set_F"
            | "gm_bpref"
            | "Rprec_mult"
            | "utility"
            | "11pt_avg"
            | "binG"
            | "G"
            | "ndcg_rel"
            | "Rndcg"
            | "relative_P"
            | "set_relative_P"
            | "set_map"
            | "num_nonrel_judged_ret"
    )
}

fn is_cutoff_family(f: &str) -> bool {
    matches!(
        f,
        "P" | "recall"
            | "ndcg_cut"
            | "map_cut"
            | "success"
            | "judged"
            | "iprec_at_recall"
            | "relative_P"
            | "Rprec_mult"
    )
}

fn parse_ir_measures(spec: &str) -> Option<Result<Measure>> {
    let (base, k) = match spec.split_once('@') {
        Some((b, k)) => (b, Some(k)),
        None => (spec, None),
    };
    let cut = match k {
        None => None,
        Some(k) => match k.parse::<u32>() {
            Ok(k) if k > 0 => Some(k),
            _ => return Some(Err(Error::UnknownMeasure(spec.to_owned()))),
        },
    };
    let m = match base {
        "RR" => Measure::Rr(cut),
        "nDCG(dcg='exp-log2')" | "nDCG(dcg=\"exp-log2\")" => Measure::NdcgExp(cut),
        "Judged" => Measure::Judged(cut?),
        _ => return None,
    };
    Some(Ok(m))
}

/// trec_eval's default (`-m official`) measures that this crate implements (all of them but
/// `runid`, which is printed separately).
pub fn official() -> Vec<Measure> {
    use Measure::*;
    let mut v = vec![
        NumQ, NumRet, NumRel, NumRelRet, Map, GmMap, Rprec, Bpref, RecipRank,
    ];
    v.extend(RECALL_LEVELS.iter().map(|&l| IprecAtRecall(l)));
    v.extend(DEFAULT_CUTOFFS.iter().map(|&k| P(k)));
    v
}

/// The measures of trec_eval's `-m all_trec` that this crate implements.
pub fn all_trec() -> Vec<Measure> {
    use Measure::*;
    let mut v = official();
    v.extend(DEFAULT_CUTOFFS.iter().map(|&k| Recall(k)));
    v.extend([InfAp, Ndcg]);
    v.extend(DEFAULT_CUTOFFS.iter().map(|&k| NdcgCut(k)));
    v.extend(DEFAULT_CUTOFFS.iter().map(|&k| MapCut(k)));
    v.extend(SUCCESS_CUTOFFS.iter().map(|&k| Success(k)));
    v.extend([SetP, SetRecall, SetF]);
    v.extend([
        GmBpref,
        Utility,
        ElevenPtAvg,
        BinG,
        G,
        NdcgRel,
        Rndcg,
        SetRelativeP,
        SetMap,
        NumNonrelJudgedRet,
    ]);
    v.extend(RPREC_MULTIPLES.iter().map(|&p| RprecMult(p)));
    v.extend(DEFAULT_CUTOFFS.iter().map(|&k| RelativeP(k)));
    normalise(v)
}

impl fmt::Display for Measure {
    /// The trec_eval output name (`P_10`, `iprec_at_recall_0.10`) or the ir_measures name.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        use Measure::*;
        match self {
            NumQ => f.write_str("num_q"),
            NumRet => f.write_str("num_ret"),
            NumRel => f.write_str("num_rel"),
            NumRelRet => f.write_str("num_rel_ret"),
            Map => f.write_str("map"),
            GmMap => f.write_str("gm_map"),
            Rprec => f.write_str("Rprec"),
            Bpref => f.write_str("bpref"),
            RecipRank => f.write_str("recip_rank"),
            IprecAtRecall(l) => write!(f, "iprec_at_recall_{l:3.2}"),
            P(k) => write!(f, "P_{k}"),
            Recall(k) => write!(f, "recall_{k}"),
            InfAp => f.write_str("infAP"),
            Ndcg => f.write_str("ndcg"),
            NdcgCut(k) => write!(f, "ndcg_cut_{k}"),
            MapCut(k) => write!(f, "map_cut_{k}"),
            Success(k) => write!(f, "success_{k}"),
            SetP => f.write_str("set_P"),
            SetRecall => f.write_str("set_recall"),
            SetF => f.write_str("set_F"),
            Judged(k) => write!(f, "judged_{k}"),
            GmBpref => f.write_str("gm_bpref"),
            RprecMult(p) => write!(f, "Rprec_mult_{p:3.2}"),
            Utility => f.write_str("utility"),
            ElevenPtAvg => f.write_str("11pt_avg"),
            BinG => f.write_str("binG"),
            G => f.write_str("G"),
            NdcgRel => f.write_str("ndcg_rel"),
            Rndcg => f.write_str("Rndcg"),
            RelativeP(k) => write!(f, "relative_P_{k}"),
            SetRelativeP => f.write_str("set_relative_P"),
            SetMap => f.write_str("set_map"),
            NumNonrelJudgedRet => f.write_str("num_nonrel_judged_ret"),
            Rr(None) => f.write_str("RR"),
            Rr(Some(k)) => write!(f, "RR@{k}"),
            NdcgExp(None) => f.write_str("nDCG(dcg='exp-log2')"),
            NdcgExp(Some(k)) => write!(f, "nDCG(dcg='exp-log2')@{k}"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip() {
        for m in all_trec()
            .into_iter()
            .chain([Measure::Rr(Some(10)), Measure::NdcgExp(Some(5))])
        {
            let parsed = Measure::parse_list(&m.to_string()).unwrap();
            assert_eq!(parsed, vec![m], "{m}");
        }
    }

    #[test]
    fn trec_eval_specs() {
        assert_eq!(
            Measure::parse_list("P.5,10").unwrap(),
            vec![Measure::P(5), Measure::P(10)]
        );
        assert_eq!(Measure::parse_list("P").unwrap().len(), 9);
        assert_eq!(
            Measure::IprecAtRecall(0.1).to_string(),
            "iprec_at_recall_0.10"
        );
        assert!(Measure::parse_list("bogus").is_err());
        assert!(Measure::parse_list("P.0").is_err());
        let ms = Measure::parse_specs(&["P.10", "map", "P.5"]).unwrap();
        assert_eq!(ms, vec![Measure::Map, Measure::P(5), Measure::P(10)]);
    }
}
