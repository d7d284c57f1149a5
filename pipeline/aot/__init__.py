"""The AOT engine: int8 TFLite -> lowered steps -> static memory plan -> C from templates.

Three rooms (device and tflm build on compile; nothing in compile needs a device):

    compile/  the compiler: lower (flatbuffer -> steps), quant (requantization records), fuse
              (residual blocks), plan (arena), codegen + compiler (C from firmware/templates),
              host (the per-build proof: that C compiled for this host vs tflite_micro)
    device/   running it: firmware (cross-compile + link), protocol (the UART protocol over QEMU or
              a serial port), runner, pyocd_flash, bench (the standard report), divergence (the
              first operator that differs on the device)
    tflm/     TensorFlow Lite Micro: reference (the tflite_micro interpreter, our golden reference)
              and export (`--engine tflm`: a TFLM application, built with a user's checkout)

Public entry points (everything else is internal):

    compile_model(model: TFLiteModel | bytes | Path) -> Compiled     # pipeline.aot.compile.compiler
    write_sources(compiled, out_dir) -> Path
    build_host_lib(compiled, work_dir) -> Path; HostModel(compiled, lib).run(inputs, trace=False)
    build_firmware(compiled, target, out_dir, stack_bytes=8192) -> FirmwareBuild   # device.firmware
    run_on_device(compiled, target, samples, work_dir, device="qemu", ...) -> DeviceRun   # device.runner
    tflm_run(model, data, inputs) / tflm_arena_bytes(data)          # tflm.reference

Submodules are imported lazily by callers so that `import pipeline.aot` stays cheap. The test
models (the zoo) are test data: tests/aot_zoo.py.
"""
