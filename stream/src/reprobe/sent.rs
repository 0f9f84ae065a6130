//! [`SentPackets`]: the stream's packets for [`Reprobe::push_sent`](super::Reprobe::push_sent)
//! where the stream's encoder runs apart from where the frames are pushed.
//!
//! `send` pushes each frame and its packets together. A sender whose encoder runs on a thread of
//! its own (the Bevy plugin's: frames packed on the GPU, read back to the encoder thread, while
//! the main world pushes the captured depth to the re-probe) has neither the same frames on both
//! sides nor their packets in step:
//! - a frame pushed may never be encoded (the encoder's queue dropped it): it has no packets, and
//!   the round leaves it out;
//! - a frame encoded may never be pushed (its depth capture was dropped): its packets have no
//!   source to measure against, yet the frames after it are predicted from it, so until the
//!   stream's next keyframe nothing decodes as sent; its packets and those up to that keyframe
//!   are held back (left out of the round, never measured wrong);
//! - a frame's packets may come before the frame is pushed, or some frames after.
//!
//! So the packets are known by their frame's in-band index (the parameters' `frame_index`, the
//! capture index in the Bevy sender), and restamped with the frame's index among those pushed,
//! as [`Reprobe::push_sent`](super::Reprobe::push_sent) takes them, in the order the encoder
//! gave them out (its decoding order).

use std::collections::VecDeque;

use depthcast_codec::EncodedPacket;

/// How many pushed frames are remembered for packets that come late: far more than an encoder's
/// delay or a queue between threads holds.
const REMEMBERED: usize = 1024;

/// Matches packets known by their frame's in-band index to the frames pushed to a
/// [`Reprobe`](super::Reprobe): give it every packet the stream's encoder sends
/// ([`SentPackets::sent`], in the encoder's order; [`SentPackets::gap`] where some were lost on
/// the way), and take a frame's packets as it is pushed ([`SentPackets::push`]). Frames are
/// pushed in the order of their in-band index.
#[derive(Debug, Default)]
pub struct SentPackets {
    /// Packets sent and not yet handed over, in the encoder's order.
    queue: VecDeque<EncodedPacket>,
    /// The in-band index of each frame pushed lately, with its index among those pushed.
    pushed: VecDeque<(u32, i64)>,
    /// Whether packets are held back until the next keyframe (a frame was encoded but not
    /// pushed, so what follows it does not decode as sent).
    resync: bool,
    /// Packets held back so far.
    held_back: u64,
    /// The highest in-band index of a packet sent.
    newest: Option<u32>,
}

impl SentPackets {
    /// Nothing sent or pushed yet.
    pub fn new() -> Self {
        Self::default()
    }

    /// Packets the stream's encoder gave out (already on their way to the receivers), in its
    /// order. A packet without in-band parameters has no frame to go with and counts as a frame
    /// encoded but not pushed.
    pub fn sent(&mut self, packets: impl IntoIterator<Item = EncodedPacket>) {
        for p in packets {
            if let Some(params) = p.params {
                self.newest = Some(self.newest.map_or(params.frame_index, |n| n.max(params.frame_index)));
            }
            self.queue.push_back(p);
        }
    }

    /// Packets the encoder gave out were lost before [`SentPackets::sent`] (a bounded queue
    /// between threads dropped them): the packets after them are held back up to the next
    /// keyframe, as they do not decode as sent.
    pub fn gap(&mut self) {
        self.resync = true;
    }

    /// The frame with in-band index `index` is pushed next, as the frame `at` among those pushed
    /// ([`Reprobe::pushed`](super::Reprobe::pushed)): the packets to push with it, each stamped
    /// with its frame's index among those pushed. These are every packet sent so far of this
    /// frame and the frames pushed before it (late ones too), in the encoder's order, less those
    /// held back; packets of later frames wait for their frame.
    pub fn push(&mut self, index: u32, at: usize) -> Vec<EncodedPacket> {
        self.pushed.push_back((index, at as i64));
        while self.pushed.len() > REMEMBERED {
            self.pushed.pop_front();
        }
        self.take_through(index)
    }

    /// The packets sent since of the frames pushed so far, stamped as [`SentPackets::push`]
    /// stamps them: for [`Reprobe::push_late`](super::Reprobe::push_late), where a frame's
    /// packets came after it was pushed.
    pub fn ready(&mut self) -> Vec<EncodedPacket> {
        match self.pushed.back() {
            Some(&(index, _)) => self.take_through(index),
            None => Vec::new(),
        }
    }

    /// Whether packets of the last frame pushed, or of a later one, have been sent (the encoder
    /// gives its packets out in its frames' order): the packets of the frames pushed are all in,
    /// but for frames it dropped.
    pub fn caught_up(&self) -> bool {
        match (self.pushed.back(), self.newest) {
            (Some(&(index, _)), Some(newest)) => newest >= index,
            (None, _) => true,
            (Some(_), None) => false,
        }
    }

    /// Packets of the frames up to in-band index `index` (of those pushed), in the encoder's
    /// order, less those held back.
    fn take_through(&mut self, index: u32) -> Vec<EncodedPacket> {
        let mut out = Vec::new();
        while let Some(p) = self.queue.front() {
            let frame = p.params.map(|p| p.frame_index);
            if frame.is_some_and(|f| f > index) {
                // Its frame is still to come (packets stay in the encoder's order).
                break;
            }
            let mut p = self.queue.pop_front().expect("front");
            let Some(at) = frame.and_then(|f| self.position(f)) else {
                // Encoded, never pushed: what follows decodes from it.
                self.resync = true;
                self.held_back += 1;
                continue;
            };
            if self.resync && !p.keyframe {
                self.held_back += 1;
                continue;
            }
            self.resync = false;
            p.dts += at - p.pts;
            p.pts = at;
            out.push(p);
        }
        out
    }

    /// The stream moves to another pair: the packets waiting for frames still to be pushed are
    /// of frames packed the old way, and are dropped (those frames are left out of the rounds).
    /// Give [`SentPackets::sent`] only the packets of frames packed the new way from here on;
    /// they are held back up to the first keyframe (where the move reopened the encoder, its
    /// first packet), as what they predict from was dropped.
    pub fn restart(&mut self) {
        self.queue.clear();
        self.resync = true;
    }

    /// Packets held back so far: of frames encoded but never pushed (or without in-band
    /// parameters), and those after them or after a [`SentPackets::gap`] up to the next
    /// keyframe.
    pub fn held_back(&self) -> u64 {
        self.held_back
    }

    /// The index among those pushed of the frame with in-band index `frame`.
    fn position(&self, frame: u32) -> Option<i64> {
        self.pushed.iter().rev().find(|&&(f, _)| f == frame).map(|&(_, at)| at)
    }
}

#[cfg(test)]
mod tests {
    use depthcast_packing::{BitDepth, PackingConfig};

    use super::*;

    /// A packet of the frame with in-band index `frame`, as an encoder that numbers its own
    /// frames from 0 gives it out (`pts` its position in the encoder's stream).
    fn packet(frame: u32, pts: i64, keyframe: bool) -> EncodedPacket {
        let params = PackingConfig::luma(BitDepth::Eight).params(BitDepth::Eight, 8, 8, 0.5, 20.0, frame);
        EncodedPacket {
            data: vec![frame as u8],
            pts,
            dts: pts - 1,
            time_base: (1, 30),
            keyframe,
            params: Some(params),
            camera: None,
        }
    }

    fn frames(packets: &[EncodedPacket]) -> Vec<(u8, i64, i64)> {
        packets.iter().map(|p| (p.data[0], p.pts, p.dts)).collect()
    }

    #[test]
    fn packets_go_with_their_frame_stamped_by_its_place_among_those_pushed() {
        let mut s = SentPackets::new();
        // Frames 10, 11, 12 pushed; the encoder dropped 11; 12's packet comes a frame late.
        s.sent([packet(10, 0, true)]);
        assert_eq!(frames(&s.push(10, 0)), vec![(10, 0, -1)]);
        assert!(s.push(11, 1).is_empty(), "11 was never encoded");
        assert!(s.push(12, 2).is_empty(), "12's packet has not come");
        s.sent([packet(12, 1, false), packet(13, 2, false)]);
        // 12 goes with 13 (late), stamped 2: its place among those pushed, not in the encoder's.
        assert_eq!(frames(&s.push(13, 3)), vec![(12, 2, 1), (13, 3, 2)]);
        assert_eq!(s.held_back(), 0);
    }

    #[test]
    fn a_frame_encoded_but_never_pushed_holds_back_the_stream_until_its_next_keyframe() {
        let mut s = SentPackets::new();
        s.sent([packet(0, 0, true), packet(1, 1, false), packet(2, 2, false)]);
        assert_eq!(frames(&s.push(0, 0)).len(), 1);
        // 1 was encoded, its depth never pushed: 2 and 3 are predicted from it.
        assert!(s.push(2, 1).is_empty());
        s.sent([packet(3, 3, false), packet(4, 4, true), packet(5, 5, false)]);
        assert!(s.push(3, 2).is_empty());
        assert_eq!(frames(&s.push(4, 3)), vec![(4, 3, 2)]);
        assert_eq!(frames(&s.push(5, 4)), vec![(5, 4, 3)]);
        assert_eq!(s.held_back(), 3, "frames 1, 2 and 3");
    }

    #[test]
    fn packets_lost_on_the_way_hold_back_the_stream_until_its_next_keyframe() {
        let mut s = SentPackets::new();
        s.sent([packet(0, 0, true)]);
        assert_eq!(frames(&s.push(0, 0)).len(), 1);
        // 1's packet was lost between the threads: 2 is predicted from it.
        s.gap();
        s.sent([packet(2, 2, false), packet(3, 3, true)]);
        assert!(s.push(1, 1).is_empty());
        assert!(s.push(2, 2).is_empty());
        assert_eq!(frames(&s.push(3, 3)), vec![(3, 3, 2)]);
        assert_eq!(s.held_back(), 1);
    }

    #[test]
    fn after_a_restart_only_the_new_encoders_packets_go_with_their_frames() {
        let mut s = SentPackets::new();
        s.sent([packet(0, 0, true), packet(1, 1, false), packet(2, 2, false)]);
        assert_eq!(frames(&s.push(0, 0)).len(), 1);
        // A move after frame 0: frames 1 and 2 were packed the old way and went through the old
        // encoder; the new one starts at 3.
        s.restart();
        s.sent([packet(3, 0, true)]);
        assert!(s.push(1, 1).is_empty());
        assert!(s.push(2, 2).is_empty());
        assert_eq!(frames(&s.push(3, 3)), vec![(3, 3, 2)]);
        assert_eq!(s.held_back(), 0);
        // A move that kept the running encoder (back to its configuration): its frames predict
        // from frames dropped as the old way's, up to the encoder's next keyframe.
        s.restart();
        s.sent([packet(4, 1, false), packet(5, 2, true)]);
        assert!(s.push(4, 4).is_empty());
        assert_eq!(frames(&s.push(5, 5)), vec![(5, 5, 4)]);
        assert_eq!(s.held_back(), 1);
    }

    #[test]
    fn packets_of_frames_still_to_come_wait_in_the_encoders_order() {
        let mut s = SentPackets::new();
        // An encoder that reorders: 0, then 2 before 1 (decoding order).
        s.sent([packet(0, 0, true), packet(2, 2, false), packet(1, 1, false)]);
        assert_eq!(frames(&s.push(0, 0)), vec![(0, 0, -1)]);
        // 2's packet is next in the encoder's order: 1's waits behind it, though 1 is pushed.
        assert!(s.push(1, 1).is_empty());
        assert_eq!(frames(&s.push(2, 2)), vec![(2, 2, 1), (1, 1, 0)]);
    }
}
