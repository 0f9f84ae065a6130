//! NEON row kernels (placeholder: forwards to scalar until the vector versions land).
#![allow(unsafe_op_in_unsafe_fn)]

pub(super) use crate::kernels::{
    block_low_row, dequantise_row, high_row, merge_row, merge_row_half, quantise_high_row, quantise_row,
    quantise_split_row, split_row, unpack_row, unpack_row_half,
};
