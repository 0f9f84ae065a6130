//! The software encoder's preset within a real-time budget (issue #17, item 1): `send --preset
//! auto`.
//!
//! A slower x264 preset gives the same bitrate less error (`results/presets-720p`: the start-up
//! probe's choice at `superfast` had 0.81x the error of its choice at `ultrafast`), but its time
//! per frame grows with the bitrate and the frame, and a machine shared with other work has less
//! of a core than a benchmark did: sent in real time on a 2-core machine, `superfast` made 3 of 36
//! streams late (`results/half-720p/live-presets.md`). So the preset is measured where it runs:
//! [`PresetGuard`] starts the stream at the first preset of its ladder, adds up what the stream's
//! encodes (packing included) take over each GOP, and at a keyframe after a GOP whose mean was over
//! the budget, or when the sender is behind its schedule by more than it allows, names the next,
//! faster preset, for the sender to reopen its encoder at ([`crate::DepthEncoder::reopen`],
//! pre-rolled, as the re-probe's moves are). The schedule catches what the encode time alone
//! does not: a sender with `--reprobe` shares its cores with the rounds, which encode at the
//! stream's preset, and in real time on a 2-core machine most late streams were ones whose own
//! encodes were within 16 ms (`results/half-720p/live-auto.md`). It never steps back up: a faster
//! preset's time says little of what the slower one would take on the frames to come, and a
//! stream that went over once would go over again.
//!
//! Every GOP holds a keyframe, which costs more than the frames between keyframes, so a GOP's mean
//! is the stream's cost per frame, not its best frames'.

use std::time::Duration;

/// The ladder of `send --preset auto`: x264's `superfast` (the slowest preset at which every H.264
/// pair encodes a 720p frame in 16 ms on one core at 4 Mbit/s, `results/presets-720p`), then
/// `ultrafast`.
pub const AUTO_PRESETS: [&str; 2] = ["superfast", "ultrafast"];

/// A step down the ladder ([`PresetGuard::at_keyframe`]).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PresetStep {
    /// The preset to reopen the encoder at.
    pub preset: &'static str,
    /// What the GOP before took per frame, on average.
    pub mean: Duration,
    /// Its frames.
    pub frames: u32,
    /// How far behind its schedule the sender was at the keyframe.
    pub behind: Duration,
    /// Why: the GOP's mean was over the budget (else the sender was too far behind).
    pub over_budget: bool,
}

/// The stream's encode time per frame over each GOP against a budget (see the module docs).
#[derive(Debug, Clone)]
pub struct PresetGuard {
    ladder: &'static [&'static str],
    step: usize,
    budget: Duration,
    max_behind: Duration,
    /// The GOP being sent: its encodes' time and frames.
    spent: Duration,
    frames: u32,
    /// The whole stream's.
    total: Duration,
    total_frames: u32,
}

impl PresetGuard {
    /// A guard over [`AUTO_PRESETS`] with `budget` per frame, allowing the sender to be
    /// `max_behind` its schedule at a keyframe.
    pub fn new(budget: Duration, max_behind: Duration) -> PresetGuard {
        PresetGuard::with_ladder(&AUTO_PRESETS, budget, max_behind)
    }

    /// A guard over `ladder` (slowest first; at least one preset); as [`PresetGuard::new`].
    ///
    /// # Panics
    /// If `ladder` is empty.
    pub fn with_ladder(ladder: &'static [&'static str], budget: Duration, max_behind: Duration) -> PresetGuard {
        assert!(!ladder.is_empty(), "a preset ladder needs a preset");
        PresetGuard {
            ladder,
            step: 0,
            budget,
            max_behind,
            spent: Duration::ZERO,
            frames: 0,
            total: Duration::ZERO,
            total_frames: 0,
        }
    }

    /// The preset the stream encodes at now.
    pub fn preset(&self) -> &'static str {
        self.ladder[self.step]
    }

    /// The budget per frame.
    pub fn budget(&self) -> Duration {
        self.budget
    }

    /// Whether the stream is at the ladder's last (fastest) preset: it steps no more.
    pub fn at_last(&self) -> bool {
        self.step + 1 == self.ladder.len()
    }

    /// One frame of the stream encoded in `took`.
    pub fn encoded(&mut self, took: Duration) {
        self.spent += took;
        self.frames += 1;
        self.total += took;
        self.total_frames += 1;
    }

    /// The mean time per frame of every encode so far (`None` before the first).
    pub fn mean(&self) -> Option<Duration> {
        (self.total_frames > 0).then(|| self.total / self.total_frames)
    }

    /// At a keyframe, the sender `behind` its schedule (zero when it sends as fast as it can):
    /// the faster preset to reopen the encoder at, when the GOP before went over the budget or
    /// the sender is more than the allowed time behind, and the ladder has one; the next GOP's
    /// count starts either way.
    pub fn at_keyframe(&mut self, behind: Duration) -> Option<PresetStep> {
        let (spent, frames) = (std::mem::take(&mut self.spent), std::mem::take(&mut self.frames));
        if frames == 0 || self.at_last() {
            return None;
        }
        let mean = spent / frames;
        let over_budget = mean > self.budget;
        (over_budget || behind > self.max_behind).then(|| {
            self.step += 1;
            PresetStep { preset: self.preset(), mean, frames, behind, over_budget }
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const MS: Duration = Duration::from_millis(1);
    const ON_TIME: Duration = Duration::ZERO;

    #[test]
    fn steps_down_after_a_gop_over_the_budget_once_and_never_back() {
        let mut g = PresetGuard::new(16 * MS, 100 * MS);
        assert_eq!(g.preset(), "superfast");
        assert!(!g.at_last());
        assert_eq!(g.mean(), None);
        // Nothing encoded yet (the first keyframe): nothing to judge.
        assert_eq!(g.at_keyframe(ON_TIME), None);
        // A GOP whose keyframe took 40 ms and the rest 14 ms: 14.9 ms on average, within.
        g.encoded(40 * MS);
        for _ in 0..29 {
            g.encoded(14 * MS);
        }
        assert_eq!(g.at_keyframe(50 * MS), None, "50 ms behind is allowed");
        assert_eq!(g.preset(), "superfast");
        // The count starts again at each keyframe: a GOP of 17 ms frames is over.
        for _ in 0..30 {
            g.encoded(17 * MS);
        }
        let step = PresetStep { preset: "ultrafast", mean: 17 * MS, frames: 30, behind: ON_TIME, over_budget: true };
        assert_eq!(g.at_keyframe(ON_TIME), Some(step));
        assert_eq!(g.preset(), "ultrafast");
        // At the ladder's end, over the budget or not, it stays.
        for _ in 0..30 {
            g.encoded(40 * MS);
        }
        assert_eq!(g.at_keyframe(ON_TIME), None);
        assert_eq!(g.preset(), "ultrafast");
        assert!(g.at_last());
        // Over the whole stream: 40 + 29 x 14 + 30 x 17 + 30 x 40 ms over 90 frames.
        assert_eq!(g.mean(), Some((40 + 29 * 14 + 30 * 17 + 30 * 40) * MS / 90));
    }

    #[test]
    fn a_sender_behind_its_schedule_steps_down_within_the_budget() {
        let mut g = PresetGuard::new(16 * MS, 100 * MS);
        for _ in 0..30 {
            g.encoded(12 * MS);
        }
        assert_eq!(g.at_keyframe(100 * MS), None, "100 ms behind is allowed");
        for _ in 0..30 {
            g.encoded(12 * MS);
        }
        let step = g.at_keyframe(101 * MS).unwrap();
        assert_eq!((step.preset, step.mean, step.behind, step.over_budget), ("ultrafast", 12 * MS, 101 * MS, false));
    }

    #[test]
    fn a_mean_at_the_budget_is_within_it() {
        static LADDER: [&str; 3] = ["medium", "veryfast", "ultrafast"];
        let mut g = PresetGuard::with_ladder(&LADDER, 10 * MS, 100 * MS);
        g.encoded(5 * MS);
        g.encoded(15 * MS);
        assert_eq!(g.at_keyframe(ON_TIME), None, "10 ms on average");
        g.encoded(11 * MS);
        assert_eq!(g.at_keyframe(ON_TIME).map(|s| s.preset), Some("veryfast"));
        g.encoded(11 * MS);
        assert_eq!(g.at_keyframe(ON_TIME).map(|s| s.preset), Some("ultrafast"), "one step per keyframe");
        assert_eq!(g.budget(), 10 * MS);
    }
}
