//! A ring of mappable staging buffers: copy a GPU buffer into a free slot while recording a
//! frame, map the slots after submission, and hand mapped bytes to the CPU a frame or two later,
//! oldest first. Used by the depth capture and by the GPU packing pass; no buffer is allocated
//! once the ring exists.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use bevy::render::render_resource::{Buffer, BufferDescriptor, BufferUsages, CommandEncoder, MapMode};
use bevy::render::renderer::RenderDevice;

/// What a slot carries beside its bytes; `order` sorts readbacks (the capture frame index).
pub(crate) trait Tagged: Copy {
    fn order(&self) -> u32;
}

#[derive(Debug)]
enum SlotState<T> {
    Free,
    /// The copy is recorded; map after submission.
    Copied(T, u64),
    /// `map_async` issued; the flag turns true when mapped.
    Mapping(T, u64),
}

struct Slot<T> {
    staging: Buffer,
    mapped: Arc<AtomicBool>,
    state: SlotState<T>,
}

/// The ring (render world).
pub(crate) struct ReadbackRing<T> {
    slots: Vec<Slot<T>>,
    capacity: u64,
}

impl<T: Tagged> ReadbackRing<T> {
    /// `slots` staging buffers of `capacity` bytes each.
    pub(crate) fn new(device: &RenderDevice, label: &'static str, slots: usize, capacity: u64) -> Self {
        let slots = (0..slots.max(1))
            .map(|_| Slot {
                staging: device.create_buffer(&BufferDescriptor {
                    label: Some(label),
                    size: capacity,
                    usage: BufferUsages::MAP_READ | BufferUsages::COPY_DST,
                    mapped_at_creation: false,
                }),
                mapped: Arc::new(AtomicBool::new(false)),
                state: SlotState::Free,
            })
            .collect();
        ReadbackRing { slots, capacity }
    }

    /// Bytes each slot holds.
    pub(crate) fn capacity(&self) -> u64 {
        self.capacity
    }

    /// Records a copy of `size` bytes of `src` into a free slot; `false` if none is free (the
    /// frame is dropped) or `size` exceeds the capacity.
    pub(crate) fn record(&mut self, encoder: &mut CommandEncoder, src: &Buffer, size: u64, tag: T) -> bool {
        if size > self.capacity {
            return false;
        }
        let Some(slot) = self.slots.iter_mut().find(|s| matches!(s.state, SlotState::Free)) else {
            return false;
        };
        encoder.copy_buffer_to_buffer(src, 0, &slot.staging, 0, size);
        slot.state = SlotState::Copied(tag, size);
        true
    }

    /// After submission: starts mapping the slots copied this frame.
    pub(crate) fn map_copied(&mut self) {
        for slot in &mut self.slots {
            if let SlotState::Copied(tag, size) = slot.state {
                let flag = slot.mapped.clone();
                flag.store(false, Ordering::Release);
                slot.staging.slice(..size).map_async(MapMode::Read, move |r| {
                    if r.is_ok() {
                        flag.store(true, Ordering::Release);
                    }
                });
                slot.state = SlotState::Mapping(tag, size);
            }
        }
    }

    /// Whether every slot is free (nothing to poll for).
    pub(crate) fn idle(&self) -> bool {
        self.slots.iter().all(|s| matches!(s.state, SlotState::Free))
    }

    /// Hands every mapped slot to `f` (oldest `order` first), then frees it.
    pub(crate) fn drain_mapped(&mut self, mut f: impl FnMut(T, &[u8])) {
        loop {
            let next = self
                .slots
                .iter()
                .enumerate()
                .filter_map(|(i, s)| match s.state {
                    SlotState::Mapping(tag, _) if s.mapped.load(Ordering::Acquire) => Some((tag.order(), i)),
                    _ => None,
                })
                .min();
            let Some((_, i)) = next else { break };
            let slot = &mut self.slots[i];
            let SlotState::Mapping(tag, size) = slot.state else { continue };
            {
                let mapped = slot.staging.slice(..size).get_mapped_range();
                f(tag, &mapped);
            }
            slot.staging.unmap();
            slot.state = SlotState::Free;
        }
    }
}
