"""Full-text search over the Akten (tantivy): what is indexed and how (``engine``), what a
user may type (``query``), highlighted snippets (``snippet``), and the index kept up to date
from the E-Akte's own store (``indexer``)."""
