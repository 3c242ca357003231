// The analyzer's native decoder (np_pcap_decode.h) for JavaScript:
//
//   readsLinkType(linkType) -> whether the decoder takes packets of that link type at all
//   const decoder = new PcapDecoder(out, verifyChecksums)
//   decoder.format({ layout, littleEndian, nanos, linkType, startSec, startNsec, interfaceId, blockInterface, untilT })
//                                          the records' layout, until the next call (pcap-decoder.ts)
//   decoder.columns([packet_no, t, ...])   the batch to fill, in columnsInOrder's order (pcap-decoder.ts)
//   decoder.decode(window, pos, end, row, room, packetNo) -> packets written
//     out[0] = the offset after the last one, out[1] / out[2] = its own time (s, ns)
//
// The columns are bound once per batch: a call per packet run then costs no property lookups.
// They are typed arrays whose buffers the decoder transfers to another thread when the batch is
// full; decode() refuses to write into a batch whose buffers have gone.
#include <napi.h>

#include <cstdint>
#include <cstring>

#include "column_arrays.h"

extern "C" {
#include "np_pcap_decode.h"
}

namespace netprov {

Napi::Function defineConnTracker(Napi::Env env);  // conn_tracker.cc

namespace {

class PcapDecoder : public Napi::ObjectWrap<PcapDecoder> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "PcapDecoder",
                       {InstanceMethod("format", &PcapDecoder::format), InstanceMethod("columns", &PcapDecoder::columns), InstanceMethod("decode", &PcapDecoder::decode)});
  }

  explicit PcapDecoder(const Napi::CallbackInfo& info) : Napi::ObjectWrap<PcapDecoder>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_float64_array || info[0].As<Napi::TypedArray>().ElementLength() < 3) {
      Napi::TypeError::New(env, "PcapDecoder(out: Float64Array(3), verifyChecksums)").ThrowAsJavaScriptException();
      return;
    }
    out_ = Napi::Persistent(info[0].As<Napi::Float64Array>());
    format_.verify_checksums = info[1].ToBoolean();
  }

 private:
  Napi::Value format(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (!info[0].IsObject()) throw Napi::TypeError::New(env, "format(records)");
    Napi::Object format = info[0].As<Napi::Object>();
    format_.pcapng = format.Get("layout").ToString().Utf8Value() == "pcapng";
    format_.little_endian = format.Get("littleEndian").ToBoolean();
    format_.nanos = format.Get("nanos").ToBoolean();
    format_.link_type = format.Get("linkType").ToNumber().Int32Value();
    format_.start_sec = format.Get("startSec").ToNumber().Int64Value();
    format_.start_nsec = format.Get("startNsec").ToNumber().Int64Value();
    format_.interface_id = format.Get("interfaceId").ToNumber().Int32Value();
    format_.block_interface = format.Get("blockInterface").ToNumber().Uint32Value();
    // Infinity for a lone input: N-API makes a non-finite number 0 as an integer.
    double until = format.Get("untilT").ToNumber().DoubleValue();
    format_.until_t = until >= 9.2e18 ? INT64_MAX : until <= -9.2e18 ? INT64_MIN : static_cast<int64_t>(until);
    return env.Undefined();
  }

  // Binds each column pointer of np_columns, in the order of pcap-decoder.ts's columnsInOrder.
  Napi::Value columns(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    std::memset(&columns_, 0, sizeof columns_);
    bound_.Reset();
    if (!info[0].IsArray()) throw Napi::TypeError::New(env, "columns(arrays)");
    Napi::Array arrays = info[0].As<Napi::Array>();
    ColumnArrays columns(env, arrays, "the decoder writes");
    auto take = [&](auto** into, napi_typedarray_type type) { columns.take(into, type); };
    np_columns& c = columns_;
    take(&c.packet_no, napi_int32_array);
    take(&c.t, napi_bigint64_array);
    take(&c.interface_id, napi_int32_array);
    take(&c.direction, napi_uint8_array);
    take(&c.orig_len, napi_uint32_array);
    take(&c.cap_len, napi_int32_array);
    take(&c.ip_version, napi_uint8_array);
    take(&c.protocol, napi_int16_array);
    take(&c.src_port, napi_int32_array);
    take(&c.dst_port, napi_int32_array);
    take(&c.tcp_flags, napi_int16_array);
    take(&c.seq, napi_uint32_array);
    take(&c.ack, napi_uint32_array);
    take(&c.ip_len, napi_int32_array);
    take(&c.payload_len, napi_int32_array);
    take(&c.process_no, napi_int32_array);
    take(&c.problem_no, napi_int32_array);
    take(&c.tf, napi_float64_array);
    for (auto& word : c.src) take(&word, napi_uint32_array);
    for (auto& word : c.dst) take(&word, napi_uint32_array);
    take(&c.frag_offset, napi_int32_array);
    take(&c.broken, napi_uint8_array);
    take(&c.bad_checksum, napi_uint8_array);
    take(&c.icmp_type, napi_int16_array);
    take(&c.icmp_code, napi_int16_array);
    take(&c.window, napi_int32_array);
    take(&c.l4_len, napi_int32_array);
    take(&c.udp_length, napi_int32_array);
    take(&c.app_head, napi_int32_array);
    take(&c.mac_src, napi_float64_array);
    take(&c.mac_dst, napi_float64_array);
    take(&c.fragment, napi_uint8_array);
    take(&c.datagram, napi_int32_array);
    take(&c.payload_at, napi_int32_array);
    take(&c.payload_end, napi_int32_array);
    c.capacity = columns.capacity();
    bound_ = Napi::Persistent(arrays);
    return env.Undefined();
  }

  Napi::Value decode(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    if (bound_.IsEmpty() || detached()) throw Napi::Error::New(env, "decode(): no columns bound, or their batch has been handed on");
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_uint8_array) throw Napi::TypeError::New(env, "decode(window: Uint8Array, ...)");
    Napi::Uint8Array window = info[0].As<Napi::Uint8Array>();
    np_pcap_run run = {};
    run.window = window.Data();
    run.pos = static_cast<size_t>(info[1].As<Napi::Number>().Int64Value());
    run.end = static_cast<size_t>(info[2].As<Napi::Number>().Int64Value());
    if (run.end > window.ElementLength() || run.pos > run.end) throw Napi::RangeError::New(env, "decode(): [pos, end) is not inside the window");
    run.row = info[3].As<Napi::Number>().Uint32Value();
    run.room = info[4].As<Napi::Number>().Uint32Value();
    run.packet_no = info[5].As<Napi::Number>().Int32Value();
    np_pcap_decode(&format_, &columns_, &run);
    Napi::Float64Array out = out_.Value();
    out[0] = static_cast<double>(run.pos);
    out[1] = static_cast<double>(run.last_sec);
    out[2] = static_cast<double>(run.last_nsec);
    return Napi::Number::New(env, run.packets);
  }

  // A batch's buffers are handed on together: the first column tells for all.
  bool detached() { return bound_.Value().Get(0u).As<Napi::TypedArray>().ArrayBuffer().IsDetached(); }

  np_pcap_format format_ = {};
  np_columns columns_ = {};
  Napi::Reference<Napi::Array> bound_;
  Napi::Reference<Napi::Float64Array> out_;
};

}  // namespace
}  // namespace netprov

static Napi::Object init(Napi::Env env, Napi::Object exports) {
  exports.Set("PcapDecoder", netprov::PcapDecoder::define(env));
  exports.Set("ConnTracker", netprov::defineConnTracker(env));
  exports.Set("readsLinkType", Napi::Function::New(env, [](const Napi::CallbackInfo& info) {
    return Napi::Boolean::New(info.Env(), np_pcap_reads_link_type(info[0].ToNumber().Int32Value()));
  }));
  return exports;
}

NODE_API_MODULE(netprov_decoder, init)
