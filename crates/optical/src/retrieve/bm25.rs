//! BM25 over English documents with tantivy, queries as bags of terms.

use clir_metrics::Run;
use tantivy::collector::TopDocs;
use tantivy::query::{BooleanQuery, Occur, Query, TermQuery};
use tantivy::schema::{
    Field, INDEXED, IndexRecordOption, STORED, Schema, TextFieldIndexing, TextOptions, Value,
};
use tantivy::tokenizer::{Language, LowerCaser, SimpleTokenizer, Stemmer, TextAnalyzer};
use tantivy::{Index, IndexReader, IndexWriter, ReloadPolicy, TantivyDocument, Term};

use crate::Result;
use crate::data::{Document, Topic};

/// The name the analyzer is registered under in the index.
const ANALYZER: &str = "optical_en";
/// Memory budget of the index writer.
const WRITER_BYTES: usize = 50_000_000;

/// Options of [`Bm25Index`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Bm25Options {
    /// Apply the English Snowball stemmer after lower-casing (off by default, as in the
    /// reference BM25 of `../shared/data/README.md`).
    pub stemming: bool,
}

/// An in-memory tantivy index of documents scored by BM25 (tantivy's k1 = 1.2, b = 0.75).
///
/// Text is split by tantivy's simple tokenizer (runs of alphanumeric characters) and
/// lower-cased, on both sides. A query is the disjunction of its terms (each occurrence counts,
/// as in Okapi BM25's sum over query tokens); its text is never parsed as query syntax, so
/// quotes, colons, `+`, `-` or brackets in a native question are just separators.
pub struct Bm25Index {
    index: Index,
    reader: IndexReader,
    body: Field,
    ord: Field,
    ids: Vec<String>,
}

impl std::fmt::Debug for Bm25Index {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Bm25Index")
            .field("docs", &self.ids.len())
            .finish_non_exhaustive()
    }
}

impl Bm25Index {
    /// Indexes `docs` with the default options (no stemming).
    pub fn build(docs: &[Document]) -> Result<Self> {
        Self::build_with(docs, Bm25Options::default())
    }

    /// Indexes `docs` with `options`.
    pub fn build_with(docs: &[Document], options: Bm25Options) -> Result<Self> {
        let mut sb = Schema::builder();
        let indexing = TextFieldIndexing::default()
            .set_tokenizer(ANALYZER)
            .set_index_option(IndexRecordOption::WithFreqs);
        let body = sb.add_text_field(
            "body",
            TextOptions::default().set_indexing_options(indexing),
        );
        let ord = sb.add_u64_field("ord", INDEXED | STORED);
        let index = Index::create_in_ram(sb.build());
        index.tokenizers().register(ANALYZER, analyzer(options));
        let mut writer: IndexWriter = index.writer_with_num_threads(1, WRITER_BYTES)?;
        for (i, d) in docs.iter().enumerate() {
            let mut doc = TantivyDocument::default();
            doc.add_text(body, &d.text);
            doc.add_u64(ord, i as u64);
            writer.add_document(doc)?;
        }
        writer.commit()?;
        let reader = index
            .reader_builder()
            .reload_policy(ReloadPolicy::Manual)
            .try_into()?;
        Ok(Self {
            index,
            reader,
            body,
            ord,
            ids: docs.iter().map(|d| d.id.clone()).collect(),
        })
    }

    /// Number of documents.
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the index holds no document.
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// The terms of `text` as the index sees them (lower-cased, stemmed if so built).
    pub fn terms(&self, text: &str) -> Result<Vec<String>> {
        let mut analyzer = self.index.tokenizer_for_field(self.body)?;
        let mut stream = analyzer.token_stream(text);
        let mut out = Vec::new();
        while stream.advance() {
            out.push(stream.token().text.clone());
        }
        Ok(out)
    }

    /// The top `k` documents of each query by BM25, as a run tagged `tag`. A query with no term
    /// (or none in the index) gets no documents.
    pub fn search(&self, queries: &[Topic], k: usize, tag: &str) -> Result<Run> {
        let searcher = self.reader.searcher();
        let mut builder = Run::builder().tag(tag);
        if k == 0 || self.ids.is_empty() {
            return Ok(builder.build()?);
        }
        let collector = TopDocs::with_limit(k);
        for q in queries {
            let clauses: Vec<(Occur, Box<dyn Query>)> = self
                .terms(&q.text)?
                .iter()
                .map(|t| {
                    let term = Term::from_field_text(self.body, t);
                    let query: Box<dyn Query> =
                        Box::new(TermQuery::new(term, IndexRecordOption::WithFreqs));
                    (Occur::Should, query)
                })
                .collect();
            if clauses.is_empty() {
                continue;
            }
            let query = BooleanQuery::new(clauses);
            for (score, address) in searcher.search(&query, &collector)? {
                let doc: TantivyDocument = searcher.doc(address)?;
                let id = doc
                    .get_first(self.ord)
                    .and_then(|v| v.as_u64())
                    .and_then(|i| self.ids.get(i as usize));
                if let Some(id) = id {
                    builder.push(&q.id, id, f64::from(score));
                }
            }
        }
        Ok(builder.build()?)
    }
}

fn analyzer(options: Bm25Options) -> TextAnalyzer {
    let base = TextAnalyzer::builder(SimpleTokenizer::default()).filter(LowerCaser);
    if options.stemming {
        base.filter(Stemmer::new(Language::English)).build()
    } else {
        base.build()
    }
}
