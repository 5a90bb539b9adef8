//! The logic of the `trec_eval` and `compare` example programs: argument parsing and output,
//! kept here so that it is unit-tested.

use std::path::PathBuf;

use crate::compare::{CompareOptions, ComparisonReport, Correction, Test, compare};
use crate::error::{Error, Result};
use crate::eval::Evaluator;
use crate::measure::Measure;
use crate::qrels::Qrels;
use crate::run::Run;

/// Arguments of `trec_eval [-q] [-c] [-n] [-l N] [-M N] [-J] [-m MEASURE]... QRELS RUN`.
#[derive(Debug, Clone, PartialEq)]
pub struct TrecEvalArgs {
    /// `-q`: print per-query values.
    pub per_query: bool,
    /// `-c`: average over all qrels queries.
    pub complete: bool,
    /// `-n`: no summary (`all`) lines.
    pub no_summary: bool,
    /// `-l N`: relevance level.
    pub relevance_level: i32,
    /// `-M N`: maximum rank.
    pub max_rank: Option<usize>,
    /// `-J`: judged documents only.
    pub judged_only: bool,
    /// `-m MEASURE` arguments (default `official`).
    pub measures: Vec<String>,
    /// Qrels file.
    pub qrels: PathBuf,
    /// Run file.
    pub run: PathBuf,
}

fn invalid(name: &str, reason: impl Into<String>) -> Error {
    Error::InvalidArgument {
        name: name.into(),
        reason: reason.into(),
    }
}

fn number<T: std::str::FromStr>(flag: &str, v: &str) -> Result<T> {
    v.parse()
        .map_err(|_| invalid(flag, format!("{v:?} is not a valid number")))
}

impl TrecEvalArgs {
    /// Parses the arguments after the program name, getopt-style (`-q -c`, `-qc`, `-l2`,
    /// `-l 2`, `-m P.10`).
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Self> {
        let mut a = TrecEvalArgs {
            per_query: false,
            complete: false,
            no_summary: false,
            relevance_level: 1,
            max_rank: None,
            judged_only: false,
            measures: Vec::new(),
            qrels: PathBuf::new(),
            run: PathBuf::new(),
        };
        let mut files = Vec::new();
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            if arg.len() < 2 || !arg.starts_with('-') {
                files.push(arg);
                continue;
            }
            let flags = &arg[1..];
            for (i, c) in flags.char_indices() {
                match c {
                    'q' => a.per_query = true,
                    'c' => a.complete = true,
                    'n' => a.no_summary = true,
                    'J' => a.judged_only = true,
                    'l' | 'M' | 'm' => {
                        let rest = &flags[i + 1..];
                        let value = if rest.is_empty() {
                            it.next()
                                .ok_or_else(|| invalid(&format!("-{c}"), "missing value"))?
                        } else {
                            rest.to_owned()
                        };
                        match c {
                            'l' => a.relevance_level = number("-l", &value)?,
                            'M' => a.max_rank = Some(number("-M", &value)?),
                            _ => a.measures.push(value),
                        }
                        break;
                    }
                    _ => return Err(invalid(&arg, "unknown option")),
                }
            }
        }
        let [qrels, run]: [String; 2] = files.try_into().map_err(|f: Vec<String>| {
            invalid("QRELS RUN", format!("expected 2 files, got {f:?}"))
        })?;
        a.qrels = qrels.into();
        a.run = run.into();
        if a.measures.is_empty() {
            a.measures.push("official".into());
        }
        Ok(a)
    }

    /// Loads the files, evaluates and returns trec_eval's text output.
    pub fn execute(&self) -> Result<String> {
        let qrels = Qrels::load(&self.qrels)?;
        let run = Run::load(&self.run)?;
        self.execute_on(&qrels, &run)
    }

    /// Evaluates `run` on `qrels` with these options and returns trec_eval's text output.
    pub fn execute_on(&self, qrels: &Qrels, run: &Run) -> Result<String> {
        let measures = Measure::parse_specs(&self.measures)?;
        let runid = self
            .measures
            .iter()
            .any(|m| matches!(m.as_str(), "official" | "all_trec"));
        let ev = Evaluator::new(measures)
            .relevance_level(self.relevance_level)
            .max_rank(self.max_rank)
            .judged_only(self.judged_only)
            .complete(self.complete)
            .evaluate(qrels, run)?;
        let mut out = ev.to_trec_eval(self.per_query, runid);
        if self.no_summary {
            out = out
                .lines()
                .filter(|l| !l.contains("\tall\t"))
                .map(|l| format!("{l}\n"))
                .collect();
        }
        Ok(out)
    }
}

/// Arguments of `compare --qrels Q --baseline RUN RUN... [-m MEASURE]... [--test
/// t|wilcoxon|randomization] [--correction holm|bonferroni] [--json]`.
#[derive(Debug, Clone, PartialEq)]
pub struct CompareArgs {
    /// Qrels file.
    pub qrels: PathBuf,
    /// Baseline run.
    pub baseline: PathBuf,
    /// Runs compared to the baseline.
    pub runs: Vec<PathBuf>,
    /// Measures (default `map`, `ndcg_cut.10`, `recall.100`, `RR@10`).
    pub measures: Vec<String>,
    /// The paired test.
    pub test: Test,
    /// The correction.
    pub correction: Correction,
    /// Print JSON instead of Markdown.
    pub json: bool,
}

impl CompareArgs {
    /// Parses the arguments after the program name.
    pub fn parse<I: IntoIterator<Item = String>>(args: I) -> Result<Self> {
        let mut qrels = None;
        let mut baseline = None;
        let mut runs = Vec::new();
        let mut measures = Vec::new();
        let mut test = Test::T;
        let mut correction = Correction::None;
        let mut json = false;
        let mut it = args.into_iter();
        while let Some(arg) = it.next() {
            let (flag, inline) = match arg.split_once('=') {
                Some((f, v)) if f.starts_with("--") => (f.to_owned(), Some(v.to_owned())),
                _ => (arg.clone(), None),
            };
            let mut value = |name: &str| {
                inline
                    .clone()
                    .or_else(|| it.next())
                    .ok_or_else(|| invalid(name, "missing value"))
            };
            match flag.as_str() {
                "--qrels" => qrels = Some(PathBuf::from(value("--qrels")?)),
                "--baseline" => baseline = Some(PathBuf::from(value("--baseline")?)),
                "-m" | "--measure" => measures.push(value("-m")?),
                "--test" => test = value("--test")?.parse()?,
                "--correction" => correction = value("--correction")?.parse()?,
                "--json" => json = true,
                f if f.starts_with('-') && f.len() > 1 => {
                    return Err(invalid(f, "unknown option"));
                }
                _ => runs.push(PathBuf::from(arg)),
            }
        }
        if measures.is_empty() {
            measures = ["map", "ndcg_cut.10", "recall.100", "RR@10"]
                .map(String::from)
                .to_vec();
        }
        Ok(CompareArgs {
            qrels: qrels.ok_or_else(|| invalid("--qrels", "required"))?,
            baseline: baseline.ok_or_else(|| invalid("--baseline", "required"))?,
            runs,
            measures,
            test,
            correction,
            json,
        })
    }

    /// Loads the files and builds the report.
    pub fn report(&self) -> Result<ComparisonReport> {
        let qrels = Qrels::load(&self.qrels)?;
        let base = Run::load(&self.baseline)?;
        let runs: Vec<Run> = self.runs.iter().map(Run::load).collect::<Result<_>>()?;
        let names: Vec<String> = self.runs.iter().map(|p| p.display().to_string()).collect();
        let pairs: Vec<(&str, &Run)> = names.iter().map(String::as_str).zip(&runs).collect();
        let measures = Measure::parse_specs(&self.measures)?;
        let options = CompareOptions::new(measures)
            .test(self.test)
            .correction(self.correction);
        compare(
            &qrels,
            (&self.baseline.display().to_string(), &base),
            &pairs,
            &options,
        )
    }

    /// The report as printed: Markdown, or JSON with `--json`.
    pub fn execute(&self) -> Result<String> {
        let r = self.report()?;
        if self.json {
            r.to_json()
        } else {
            Ok(r.to_markdown())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Vec<String> {
        s.split_whitespace().map(String::from).collect()
    }

    #[test]
    fn parses_trec_eval_flags() {
        let a =
            TrecEvalArgs::parse(args("-q -c -l2 -M 100 -J -m P.5,10 -mmap q.txt r.txt")).unwrap();
        assert!(a.per_query && a.complete && a.judged_only);
        assert_eq!(a.relevance_level, 2);
        assert_eq!(a.max_rank, Some(100));
        assert_eq!(a.measures, vec!["P.5,10", "map"]);
        assert_eq!(a.qrels, PathBuf::from("q.txt"));
        let b = TrecEvalArgs::parse(args("-qc q r")).unwrap();
        assert!(b.per_query && b.complete);
        assert_eq!(b.measures, vec!["official"]);
        assert!(TrecEvalArgs::parse(args("-x q r")).is_err());
        assert!(TrecEvalArgs::parse(args("q")).is_err());
        assert!(TrecEvalArgs::parse(args("-l x q r")).is_err());
    }

    #[test]
    fn trec_eval_text_output() {
        let qrels = Qrels::builder()
            .judgement("q1", "a", 1)
            .judgement("q1", "b", 0)
            .judgement("q2", "a", 2)
            .build()
            .unwrap();
        let run = Run::builder()
            .tag("sys")
            .doc("q1", "a", 2.0)
            .doc("q1", "b", 1.0)
            .doc("q2", "b", 1.0)
            .build()
            .unwrap();
        let a = TrecEvalArgs::parse(args("-q -m map -m num_q q r")).unwrap();
        let out = a.execute_on(&qrels, &run).unwrap();
        assert_eq!(
            out,
            "map                   \tq1\t1.0000\n\
             map                   \tq2\t0.0000\n\
             num_q                 \tall\t2\nmap                   \tall\t0.5000\n"
        );
        let a = TrecEvalArgs::parse(args("q r")).unwrap();
        let out = a.execute_on(&qrels, &run).unwrap();
        assert!(
            out.starts_with("runid                 \tall\tsys\nnum_q"),
            "{out}"
        );
        assert!(out.contains("iprec_at_recall_0.10  \tall\t"), "{out}");
    }

    #[test]
    fn parses_compare_flags() {
        let a = CompareArgs::parse(args(
            "--qrels q --baseline b r1 r2 -m map --test wilcoxon --correction holm",
        ))
        .unwrap();
        assert_eq!(a.runs.len(), 2);
        assert_eq!(a.test, Test::Wilcoxon);
        assert_eq!(a.correction, Correction::Holm);
        assert_eq!(a.measures, vec!["map"]);
        assert!(CompareArgs::parse(args("--baseline b r1")).is_err());
        assert!(CompareArgs::parse(args("--qrels q --baseline b --test z")).is_err());
    }
}
