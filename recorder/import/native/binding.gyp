# gzip inputs inflated in C (np_gunzip.c) rather than in JavaScript (pako): ~2.5x faster, measured.
# zlib comes from Node itself on Linux (its binary exports zlib and its headers ship zlib.h), from
# the SDK on macOS. Without a C compiler this addon is not built and pako inflates instead.
{
  "targets": [
    {
      "target_name": "netprov_gunzip",
      "sources": ["addon.c", "np_gunzip.c"],
      "defines": ["NAPI_VERSION=8"],
      "cflags": ["-O2"],
      "cflags_c": ["-std=c11"],
      "conditions": [
        ["OS=='mac'", {"libraries": ["-lz"], "xcode_settings": {"MACOSX_DEPLOYMENT_TARGET": "13.0"}}]
      ]
    }
  ]
}
