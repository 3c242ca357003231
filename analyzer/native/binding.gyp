# The analyzer's native decoder: plain C over the packet bytes (src/np_pcap_decode.c) and its
# node-addon-api glue. It needs only a C and C++ compiler; without it the analyzer decodes every
# packet in TypeScript (analyzer/native/pcap-decoder.ts says whether it was built).
{
  "targets": [
    {
      "target_name": "netprov_decoder",
      "sources": ["src/addon.cc", "src/conn_tracker.cc", "src/np_flow_text.c", "src/np_pcap_decode.c", "src/np_track.c"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "src"],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS"],
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
