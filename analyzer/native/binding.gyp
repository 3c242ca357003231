# The analyzer's native addon: plain C over the packet bytes (src/np_pcap_decode.c), connection
# tracking (src/np_track.c, src/np_flow_text.c), and their node-addon-api glue. It needs only a C
# and C++ compiler; without it the analyzer decodes and tracks every packet in TypeScript
# (analyzer/native/addon.ts says whether it was built).
{
  "targets": [
    {
      "target_name": "netprov_decoder",
      "sources": ["src/addon.cc", "src/conn_tracker.cc", "src/np_flow_text.c", "src/np_pcap_decode.c", "src/np_track.c"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "src"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags": ["-O2"],
      "cflags_c": ["-std=c11"],
      "cflags_cc": ["-std=c++17", "-fexceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "xcode_settings": {
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "MACOSX_DEPLOYMENT_TARGET": "13.0"
      }
    }
  ]
}
