//! Retrieval: dense exact search with a document-embedding cache, BM25, fusion.
