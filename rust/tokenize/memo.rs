//! The memo of pieces already tokenized, sharded by worker thread, and the output the fast path writes tokens to.

use std::sync::{Mutex, TryLockError};

use rustc_hash::FxHashMap as HashMap;

use crate::tokenize::tokens::Tokens;

/// Bytes a memo shard may hold (text of its pieces, their tokens, table overhead) before it is cleared.
pub(crate) const MEMO_BYTES: usize = 32 << 20;
/// Pieces longer than this are tokenized every time: they rarely repeat, and would crowd the memo.
pub(crate) const MEMO_MAX_PIECE: usize = 1024;
/// Estimated bytes of hash table and allocation overhead per memo entry.
const MEMO_ENTRY_OVERHEAD: usize = 64;
const MEMO_SHARDS: usize = 64;

/// Token ids of one piece, each with its byte range relative to the piece's start.
pub(crate) type PieceTokens = Box<[(u32, u32, u32)]>;

/// Where the tokens of a text go, and the memo of pieces already tokenized.
pub(crate) struct Output<'a> {
    memo: &'a mut MemoShard,
    tokens: &'a mut Tokens,
}

impl<'a> Output<'a> {
    pub(crate) fn new(memo: &'a mut MemoShard, tokens: &'a mut Tokens) -> Output<'a> {
        Output { memo, tokens }
    }

    /// Emits the tokens of the piece `text[start..end]`, tokenizing it with `tokenize` unless the memo has it.
    /// `variant` tells apart pieces of the same text tokenized differently (a SentencePiece word with the "▁"
    /// prefix or without).
    pub(crate) fn piece(
        &mut self,
        text: &str,
        start: usize,
        end: usize,
        variant: usize,
        tokenize: impl FnOnce(&str) -> tokenizers::Result<PieceTokens>,
    ) -> tokenizers::Result<()> {
        let piece = &text[start..end];
        if piece.len() > MEMO_MAX_PIECE {
            let tokens = tokenize(piece)?;
            self.push(start, &tokens);
            return Ok(());
        }
        if let Some(tokens) = self.memo.pieces[variant].get(piece) {
            push(self.tokens, start, tokens);
            return Ok(());
        }
        let tokens = tokenize(piece)?;
        push(self.tokens, start, &tokens);
        self.memo.insert(variant, piece, tokens);
        Ok(())
    }

    fn push(&mut self, start: usize, tokens: &[(u32, u32, u32)]) {
        push(self.tokens, start, tokens);
    }
}

fn push(out: &mut Tokens, start: usize, tokens: &[(u32, u32, u32)]) {
    for &(id, s, e) in tokens {
        out.ids.push(id);
        out.offsets.push((start + s as usize, start + e as usize));
    }
}

/// Memoized pieces, one shard per worker thread.
pub(crate) struct Memo {
    shards: Box<[Mutex<MemoShard>]>,
}

pub(crate) struct MemoShard {
    /// Piece text -> its tokens, per variant.
    pieces: [HashMap<Box<str>, PieceTokens>; 2],
    bytes: usize,
    max_bytes: usize,
}

impl MemoShard {
    fn new(max_bytes: usize) -> MemoShard {
        MemoShard { pieces: Default::default(), bytes: 0, max_bytes }
    }

    fn insert(&mut self, variant: usize, piece: &str, tokens: PieceTokens) {
        self.bytes += piece.len() + tokens.len() * std::mem::size_of::<(u32, u32, u32)>() + MEMO_ENTRY_OVERHEAD;
        if self.bytes > self.max_bytes {
            self.clear();
        }
        self.pieces[variant].insert(piece.into(), tokens);
    }

    fn clear(&mut self) {
        self.pieces.iter_mut().for_each(HashMap::clear);
        self.bytes = 0;
    }
}

impl Memo {
    /// The bytes held by the fullest shard, and the longest piece kept.
    #[cfg(test)]
    pub(crate) fn largest_shard_and_piece(&self) -> (usize, usize) {
        let shards = self.shards.iter().map(|s| s.lock().unwrap());
        shards.fold((0, 0), |(bytes, piece), s| {
            let longest = s.pieces.iter().flat_map(|p| p.keys().map(|k| k.len())).max().unwrap_or(0);
            (bytes.max(s.bytes), piece.max(longest))
        })
    }

    pub(crate) fn new(max_bytes: usize) -> Memo {
        Memo { shards: (0..MEMO_SHARDS).map(|_| Mutex::new(MemoShard::new(max_bytes))).collect() }
    }

    /// Runs `f` with this thread's shard, or with an empty one when another thread holds it (two thread pools
    /// encoding at once): the result is the same, only slower.
    pub(crate) fn with_shard<R>(&self, f: impl FnOnce(&mut MemoShard) -> R) -> R {
        let thread = rayon::current_thread_index().unwrap_or_else(|| {
            use std::hash::BuildHasher;
            rustc_hash::FxBuildHasher.hash_one(std::thread::current().id()) as usize
        });
        match self.shards[thread % self.shards.len()].try_lock() {
            Ok(mut shard) => f(&mut shard),
            // A panic while the shard was held may have left it half-updated: start it afresh.
            Err(TryLockError::Poisoned(poisoned)) => {
                let mut shard = poisoned.into_inner();
                shard.clear();
                f(&mut shard)
            }
            Err(TryLockError::WouldBlock) => f(&mut MemoShard::new(0)),
        }
    }
}
