# The sensor bridge: one addon, the backend of the platform it is built on. Linux builds compile
# the in-process Linux sensor (sysex/linux, after `make -C sysex/linux` has generated its BPF
# skeleton); macOS builds compile the XPC client of the system extension; neither compiles the
# other's code.
{
  "targets": [
    {
      "target_name": "netprov_sensor",
      "sources": ["src/addon.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "conditions": [
        ["OS=='linux'", {
          "sources": ["src/linux_backend.cc", "../../sysex/linux/sensor.c", "../../sysex/linux/cgroups.c", "../../sysex/common/np_session.c", "../../sysex/common/np_stream.c"],
          "include_dirs": ["../../sysex/linux", "../../sysex/linux/build", "../../sysex/common"],
          "cflags_c": ["-std=gnu11"],
          "libraries": ["-lbpf", "-lelf", "-lz"]
        }],
        ["OS=='mac'", {
          "sources": ["src/darwin_backend.cc"],
          "xcode_settings": {
            "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
            "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
            "MACOSX_DEPLOYMENT_TARGET": "13.0"
          }
        }]
      ]
    }
  ]
}
