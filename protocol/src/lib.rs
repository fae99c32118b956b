//! Connect protocol pieces and envd message types used by both sides.
