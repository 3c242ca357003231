// Connection tracking in C (np_track.h) for JavaScript:
//
//   const tracker = new ConnTracker(hit: Int32Array(10), uidSeed)
//   tracker.columns(slot, [tf, t, ip_version, ...])  the rows to track, in trackColumnsInOrder's
//                                                     order (conn-tracker.ts); slot 0 or 1
//   tracker.track(slot, from, to) -> the row it stopped at (see np_track_rows)
//     hit = [flow_no, is_orig, is_new, ip_version, resp_addr x4, resp_port, flows finished]
//   tracker.finishAll()
//   tracker.drain() -> { numbers, times, text } of the flows finished since the last drain
//     (times: start, last and duration exactly, for the flows whose numbers cannot hold them)
//
// Two slots: a batch's columns, bound once per batch, and a one-row set the caller fills for
// the packets it tracks itself (tunnels' outer datagrams, reassembled fragments).
#include <napi.h>

#include <cstring>

#include "column_arrays.h"
#include <string>

extern "C" {
#include "np_flow_text.h"
#include "np_track.h"
}

namespace netprov {
namespace {

// Per finished flow in drain()'s `numbers`: see FlowNumbers in conn-tracker.ts.
constexpr size_t kNumbers = 16 + NP_FLOW_TEXTS;

class ConnTracker : public Napi::ObjectWrap<ConnTracker> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "ConnTracker", {InstanceMethod("columns", &ConnTracker::columns), InstanceMethod("track", &ConnTracker::track),
                                            InstanceMethod("finishAll", &ConnTracker::finishAll), InstanceMethod("drain", &ConnTracker::drain)});
  }

  explicit ConnTracker(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConnTracker>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || info[0].As<Napi::TypedArray>().ElementLength() < 10) {
      Napi::TypeError::New(env, "ConnTracker(hit: Int32Array(10), uidSeed)").ThrowAsJavaScriptException();
      return;
    }
    uid_seed_ = info[1].ToNumber().Int32Value();
    hit_ = Napi::Persistent(info[0].As<Napi::Int32Array>());
    tracker_ = np_track_new();
    if (!tracker_) Napi::Error::New(env, "out of memory for the connection table").ThrowAsJavaScriptException();
  }

  ~ConnTracker() override { np_track_free(tracker_); }

 private:
  Napi::Value columns(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t slot = info[0].ToNumber().Uint32Value();
    if (slot > 1 || !info[1].IsArray()) throw Napi::TypeError::New(env, "columns(slot: 0 | 1, arrays)");
    Slot& s = slots_[slot];
    std::memset(&s.columns, 0, sizeof s.columns);
    s.bound.Reset();
    Napi::Array arrays = info[1].As<Napi::Array>();
    ColumnArrays columns(env, arrays, "the tracker reads");
    auto take = [&](auto** into, napi_typedarray_type type) { columns.take(into, type); };
    np_track_columns& c = s.columns;
    take(&c.tf, napi_float64_array);
    take(&c.t, napi_bigint64_array);
    take(&c.ip_version, napi_uint8_array);
    take(&c.protocol, napi_int16_array);
    for (auto& word : c.src) take(&word, napi_uint32_array);
    for (auto& word : c.dst) take(&word, napi_uint32_array);
    take(&c.src_port, napi_int32_array);
    take(&c.dst_port, napi_int32_array);
    take(&c.frag_offset, napi_int32_array);
    take(&c.broken, napi_uint8_array);
    take(&c.bad_checksum, napi_uint8_array);
    take(&c.icmp_type, napi_int16_array);
    take(&c.icmp_code, napi_int16_array);
    take(&c.tcp_flags, napi_int16_array);
    take(&c.seq, napi_uint32_array);
    take(&c.ack, napi_uint32_array);
    take(&c.window, napi_int32_array);
    take(&c.ip_len, napi_int32_array);
    take(&c.l4_len, napi_int32_array);
    take(&c.payload_len, napi_int32_array);
    take(&c.udp_length, napi_int32_array);
    take(&c.app_head, napi_int32_array);
    take(&c.mac_src, napi_float64_array);
    take(&c.mac_dst, napi_float64_array);
    take(&c.fragment, napi_uint8_array);
    take(&c.datagram, napi_int32_array);
    take(&c.flow_no, napi_int32_array);
    take(&c.from_first_sender, napi_uint8_array);
    take(&c.is_orig, napi_uint8_array);
    take(&c.resp_port, napi_int32_array);
    c.capacity = columns.capacity();
    s.bound = Napi::Persistent(arrays);
    return env.Undefined();
  }

  Napi::Value track(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    uint32_t slot = info[0].ToNumber().Uint32Value();
    if (slot > 1 || slots_[slot].bound.IsEmpty() || slots_[slot].bound.Value().Get(0u).As<Napi::TypedArray>().ArrayBuffer().IsDetached()) {
      throw Napi::Error::New(env, "track(): no columns bound in that slot, or their batch has been handed on");
    }
    uint32_t from = info[1].ToNumber().Uint32Value();
    uint32_t to = info[2].ToNumber().Uint32Value();
    np_track_hit hit = {};
    hit.flow_no = -1;
    uint32_t stopped = np_track_rows(tracker_, &slots_[slot].columns, from, to, &hit);
    if (np_track_failed(tracker_)) throw Napi::Error::New(env, "out of memory tracking connections");
    Napi::Int32Array out = hit_.Value();
    out[0] = hit.flow_no;
    out[1] = hit.is_orig;
    out[2] = hit.is_new;
    out[3] = hit.ip_version;
    for (int w = 0; w < 4; w++) out[4 + w] = static_cast<int32_t>(hit.resp_addr[w]);
    out[8] = hit.resp_port;
    out[9] = static_cast<int32_t>(finishedCount());
    return Napi::Number::New(env, stopped);
  }

  Napi::Value finishAll(const Napi::CallbackInfo& info) {
    np_track_finish_all(tracker_);
    hit_.Value()[9] = static_cast<int32_t>(finishedCount());
    return info.Env().Undefined();
  }

  Napi::Value drain(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    size_t count = 0;
    const np_flow_record* records = np_track_finished(tracker_, &count);
    Napi::Float64Array numbers = Napi::Float64Array::New(env, count * kNumbers);
    Napi::BigInt64Array times = Napi::BigInt64Array::New(env, count * 3);
    std::string text;
    text.reserve(count * (NP_FLOW_TEXT_MAX / 2));
    for (size_t i = 0; i < count; i++) {
      const np_flow_record& r = records[i];
      double* n = numbers.Data() + i * kNumbers;
      size_t state_len = std::strlen(r.conn_state);
      char texts[NP_FLOW_TEXT_MAX];
      int32_t lengths[NP_FLOW_TEXTS];
      size_t texts_len = np_flow_text(&r, uid_seed_, texts, lengths);
      const double values[kNumbers] = {
          double(r.no), double(r.protocol), double(r.orig_port), double(r.resp_port),
          double(r.orig_bytes), double(r.resp_bytes), double(r.missed_bytes),
          double(r.orig_pkts), double(r.orig_ip_bytes), double(r.resp_pkts), double(r.resp_ip_bytes),
          double(r.start), double(r.last), double(r.duration_ns), double(state_len), double(r.history_len),
          double(lengths[NP_UID]), double(lengths[NP_ORIG_ADDR]), double(lengths[NP_RESP_ADDR]), double(lengths[NP_COMMUNITY_ID]),
          double(lengths[NP_ORIG_L2]), double(lengths[NP_RESP_L2])};
      std::memcpy(n, values, sizeof values);
      int64_t* t = times.Data() + i * 3;
      t[0] = r.start;
      t[1] = r.last;
      t[2] = r.duration_ns;
      text.append(r.conn_state, state_len);
      text.append(r.history, r.history_len);
      text.append(texts, texts_len);
    }
    np_track_clear_finished(tracker_);
    hit_.Value()[9] = 0;
    Napi::Object out = Napi::Object::New(env);
    out.Set("numbers", numbers);
    out.Set("times", times);
    // Latin-1: every text here is ASCII, and V8 then copies the bytes as they are.
    napi_value text_value;
    NAPI_THROW_IF_FAILED(env, napi_create_string_latin1(env, text.data(), text.size(), &text_value), Napi::Value());
    out.Set("text", text_value);
    return out;
  }

  size_t finishedCount() {
    size_t count = 0;
    np_track_finished(tracker_, &count);
    return count;
  }

  struct Slot {
    np_track_columns columns = {};
    Napi::Reference<Napi::Array> bound;
  };

  np_tracker* tracker_ = nullptr;
  int32_t uid_seed_ = 0;
  Slot slots_[2];
  Napi::Reference<Napi::Int32Array> hit_;
};

}  // namespace

Napi::Function defineConnTracker(Napi::Env env) { return ConnTracker::define(env); }

}  // namespace netprov
