//! The packing pass inside a real headless app: `CornellBox.glb` rendered at 256x256, depth
//! captured and packed on the GPU every frame; each packed frame must equal, byte for byte, the
//! CPU packing of the depth frame read back with the same capture index. The packing changes
//! every frame (VBP luma layout P14, hue, triangle waves with a period that is not a power of
//! two, VBP chroma layout with a disparity range; 8-bit). Skips (printing why) when the scene is
//! absent; fails without a Vulkan adapter.

use std::collections::HashMap;
use std::path::PathBuf;

use depthcast_packing::{DepthImage, PackParams, Packer, RangeMode, Scheme, VbpLayout, YuvFrame};
use depthcast_plugin::{GpuPack, PackedFrames};
use depthcast_scene::{CameraPath, SceneRenderConfig, SceneRenderer};

#[test]
fn packed_frames_equal_cpu_packing_of_the_captured_depth() {
    let scene = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../shared/scenes/CornellBox.glb");
    if !scene.is_file() {
        println!("SKIPPED: {} not found (shared/ must sit beside the checkout)", scene.display());
        return;
    }
    let mut cfg = SceneRenderConfig::new(&scene);
    (cfg.width, cfg.height, cfg.frames) = (256, 256, 12);
    cfg.path = CameraPath::Walk;
    let mut r = SceneRenderer::new(cfg).unwrap_or_else(|e| panic!("{e}"));
    let configs = [
        PackParams { layout: VbpLayout::Luma, ..PackParams::new(Scheme::Vbp, 14, 10.0, 600.0, 256, 256) },
        PackParams::new(Scheme::Hue, 0, 10.0, 600.0, 256, 256),
        PackParams { period: 1000, ..PackParams::new(Scheme::Triangle, 14, 10.0, 600.0, 256, 256) },
        PackParams { mode: RangeMode::Disparity, ..PackParams::new(Scheme::Vbp, 14, 10.0, 600.0, 256, 256) },
    ];
    let camera = r.camera();

    let mut depth: HashMap<u32, DepthImage> = HashMap::new();
    let mut packed = HashMap::new();
    let drain = |r: &mut SceneRenderer, packed: &mut HashMap<u32, (PackParams, Vec<u8>)>| {
        let frames = r.app_mut().world().resource::<PackedFrames>().clone();
        while let Some(f) = frames.try_recv() {
            assert!(configs.contains(&f.params), "{:?}", f.params);
            packed.insert(f.index, (f.params, f.bytes.clone()));
            frames.recycle(f);
        }
    };
    let mut k = 0;
    loop {
        let params = configs[k % configs.len()];
        k += 1;
        r.app_mut().world_mut().entity_mut(camera).insert(GpuPack { params: Some(params), roi_high: None, tag: 0 });
        let Some(f) = r.next_frame().unwrap_or_else(|e| panic!("{e}")) else { break };
        depth.insert(f.index, DepthImage { width: f.width, height: f.height, data: f.data.clone() });
        r.recycle(f);
        drain(&mut r, &mut packed);
    }
    for _ in 0..4 {
        r.app_mut().update();
        drain(&mut r, &mut packed);
    }
    let mut compared = 0;
    let mut schemes = std::collections::HashSet::new();
    let mut packer = Packer::default();
    for (index, img) in &depth {
        let Some((params, gpu)) = packed.get(index) else { continue };
        let (w, h) = params.frame_size();
        let mut frame = YuvFrame::new(w, h, params.bit_depth);
        packer.pack_into(&img.view(), params, &mut frame).expect("cpu pack");
        let mut cpu = Vec::new();
        frame.write(depthcast_packing::PixelFormat::Yuv420p, &mut cpu).expect("write");
        assert_eq!(gpu.len(), cpu.len());
        let diff = gpu.iter().zip(&cpu).position(|(a, b)| a != b);
        assert!(diff.is_none(), "frame {index} ({params:?}): first differing byte {diff:?}");
        let valid = img.data.iter().filter(|z| z.is_finite()).count();
        println!(
            "frame {index}: {} bytes equal ({valid} valid depth pixels; {:?} {:?})",
            gpu.len(),
            params.scheme,
            params.mode
        );
        schemes.insert((params.scheme, params.mode));
        compared += 1;
    }
    assert!(schemes.len() == configs.len(), "only {schemes:?} came back packed");
    assert!(compared >= 9, "only {compared} of {} frames came back packed", depth.len());
}
