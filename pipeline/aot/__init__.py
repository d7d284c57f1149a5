"""The AOT engine: int8 TFLite -> lowered steps -> static memory plan -> C from templates.

Public entry points (everything else is internal):

    compile_model(model: TFLiteModel | bytes | Path) -> Compiled     # pipeline.aot.compiler
    write_sources(compiled, out_dir) -> Path
    build_host_lib(compiled, work_dir) -> Path; HostModel(compiled, lib).run(inputs, trace=False)
    build_firmware(compiled, target, out_dir, stack_bytes=8192) -> FirmwareBuild   # ELF + sizes
    run_on_device(compiled, target, samples, work_dir, device="qemu", ...) -> DeviceRun
    tflm_run(model, data, inputs) / tflm_arena_bytes(data)          # the golden reference

Submodules are imported lazily by callers so that `import pipeline.aot` stays cheap.
"""
