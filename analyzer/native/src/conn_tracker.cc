// Connection tracking in C (np_track.h) for JavaScript:
//
//   const tracker = new ConnTracker(hit: Int32Array(10), uidSeed, maxOpen)
//   tracker.columns(slot, [tf, t, ip_version, ...])  the rows to track, in trackColumnsInOrder's
//                                                     order (conn-tracker.ts); slot 0 or 1
//   tracker.track(slot, from, to) -> the row it stopped at (see np_track_rows)
//     hit = [flow_no, is_orig, is_new, ip_version, resp_addr x4, resp_port, flows finished]
//   tracker.finishOldest(max) -> how many open connections it retired, oldest first (at most max)
//   tracker.evicted() -> connections retired early to keep at most maxOpen open (np_track_evicted)
//   tracker.drain(max?) -> { count, flowNo, columns } of the first flows finished, at most max:
//     their numbers, and their columns of the flows table in Parquet's PLAIN layout (PlainColumn)
//
// Two slots: a batch's columns, bound once per batch, and a one-row set the caller fills for
// the packets it tracks itself (tunnels' outer datagrams, reassembled fragments).
#include <napi.h>

#include <algorithm>
#include <cstdlib>
#include <cstring>
#include <new>
#include <utility>
#include <vector>

#include "column_arrays.h"

extern "C" {
#include "np_flow_text.h"
#include "np_track.h"
}

namespace netprov {
namespace {

// One column of drained flows in Parquet's PLAIN layout, as parquet-rows.ts writes it: the values
// that are not NULL one after another (numbers little-endian as in memory, each text after its
// length in 4 bytes; little-endian, as every machine this builds for is), and a bit per flow, 1
// where it has a value.
class PlainColumn {
 public:
  // `width`: the bytes a row's value takes, or most do (room grows past it).
  PlainColumn(size_t rows, size_t width) : capacity_(std::max<size_t>(rows * width, 16)), present_((rows + 7) / 8, 0) {
    values_ = static_cast<char*>(std::malloc(capacity_));
    if (!values_) throw std::bad_alloc();
  }
  PlainColumn(const PlainColumn&) = delete;
  PlainColumn& operator=(const PlainColumn&) = delete;
  ~PlainColumn() { std::free(values_); }

  template <typename T>
  void number(size_t row, T value) {
    std::memcpy(room(sizeof value), &value, sizeof value);
    mark(row);
  }

  void text(size_t row, const char* bytes, size_t length) {
    uint32_t prefix = uint32_t(length);
    char* at = room(sizeof prefix + length);
    std::memcpy(at, &prefix, sizeof prefix);
    std::memcpy(at + sizeof prefix, bytes, length);
    mark(row);
  }

  Napi::Object toJs(Napi::Env env) const {
    Napi::Object out = Napi::Object::New(env);
    out.Set("values", Napi::Buffer<char>::Copy(env, values_, used_));
    out.Set("present", Napi::Buffer<uint8_t>::Copy(env, present_.data(), present_.size()));
    return out;
  }

 private:
  // Written in place, not appended to a std::string: 23 appends a flow were half of drain().
  char* room(size_t bytes) {
    if (used_ + bytes > capacity_) {
      size_t grown = std::max(capacity_ * 2, used_ + bytes);
      char* moved = static_cast<char*>(std::realloc(values_, grown));
      if (!moved) throw std::bad_alloc();
      values_ = moved;
      capacity_ = grown;
    }
    char* at = values_ + used_;
    used_ += bytes;
    return at;
  }

  void mark(size_t row) { present_[row >> 3] |= uint8_t(1u << (row & 7)); }

  char* values_ = nullptr;
  size_t used_ = 0;
  size_t capacity_;
  std::vector<uint8_t> present_;
};

// The columns of the flows table (schema.sql) that tracking knows, named as there; the rest (the
// session, what content said) are the caller's.
struct PlainColumns {
  explicit PlainColumns(size_t rows)
      : uid(rows, 22), flow_no(rows, 4), start_t(rows, 8), end_t(rows, 8), orig_h(rows, 20), orig_p(rows, 4), resp_h(rows, 20),
        resp_p(rows, 4), proto(rows, 7), duration(rows, 8), orig_bytes(rows, 8), resp_bytes(rows, 8), conn_state(rows, 6),
        missed_bytes(rows, 8), history(rows, 16), orig_pkts(rows, 8), orig_ip_bytes(rows, 8), resp_pkts(rows, 8),
        resp_ip_bytes(rows, 8), ip_proto(rows, 4), community_id(rows, 34), orig_l2_addr(rows, 21), resp_l2_addr(rows, 21) {}

  PlainColumn uid, flow_no, start_t, end_t, orig_h, orig_p, resp_h, resp_p, proto, duration, orig_bytes, resp_bytes, conn_state,
      missed_bytes, history, orig_pkts, orig_ip_bytes, resp_pkts, resp_ip_bytes, ip_proto, community_id, orig_l2_addr, resp_l2_addr;

  std::vector<std::pair<const char*, const PlainColumn*>> named() const {
    return {{"uid", &uid}, {"flow_no", &flow_no}, {"start_t", &start_t}, {"end_t", &end_t}, {"orig_h", &orig_h},
            {"orig_p", &orig_p}, {"resp_h", &resp_h}, {"resp_p", &resp_p}, {"proto", &proto}, {"duration", &duration},
            {"orig_bytes", &orig_bytes}, {"resp_bytes", &resp_bytes}, {"conn_state", &conn_state},
            {"missed_bytes", &missed_bytes}, {"history", &history}, {"orig_pkts", &orig_pkts},
            {"orig_ip_bytes", &orig_ip_bytes}, {"resp_pkts", &resp_pkts}, {"resp_ip_bytes", &resp_ip_bytes},
            {"ip_proto", &ip_proto}, {"community_id", &community_id}, {"orig_l2_addr", &orig_l2_addr},
            {"resp_l2_addr", &resp_l2_addr}};
  }
};

class ConnTracker : public Napi::ObjectWrap<ConnTracker> {
 public:
  static Napi::Function define(Napi::Env env) {
    return DefineClass(env, "ConnTracker", {InstanceMethod("columns", &ConnTracker::columns), InstanceMethod("track", &ConnTracker::track),
                                            InstanceMethod("finishOldest", &ConnTracker::finishOldest), InstanceMethod("drain", &ConnTracker::drain),
                                            InstanceMethod("evicted", &ConnTracker::evicted)});
  }

  explicit ConnTracker(const Napi::CallbackInfo& info) : Napi::ObjectWrap<ConnTracker>(info) {
    Napi::Env env = info.Env();
    if (!info[0].IsTypedArray() || info[0].As<Napi::TypedArray>().TypedArrayType() != napi_int32_array || info[0].As<Napi::TypedArray>().ElementLength() < 10 ||
        !info[2].IsNumber()) {
      Napi::TypeError::New(env, "ConnTracker(hit: Int32Array(10), uidSeed, maxOpen)").ThrowAsJavaScriptException();
      return;
    }
    uid_seed_ = info[1].ToNumber().Int32Value();
    hit_ = Napi::Persistent(info[0].As<Napi::Int32Array>());
    tracker_ = np_track_new(info[2].As<Napi::Number>().Uint32Value());
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

  Napi::Value finishOldest(const Napi::CallbackInfo& info) {
    size_t retired = np_track_finish_oldest(tracker_, static_cast<size_t>(info[0].As<Napi::Number>().Int64Value()));
    hit_.Value()[9] = static_cast<int32_t>(finishedCount());
    return Napi::Number::New(info.Env(), static_cast<double>(retired));
  }

  Napi::Value evicted(const Napi::CallbackInfo& info) { return Napi::Number::New(info.Env(), static_cast<double>(np_track_evicted(tracker_))); }

  // The first `max` flows finished (or all), as the flows table's columns (PlainColumns).
  Napi::Value drain(const Napi::CallbackInfo& info) {
    // Only Napi::Error crosses into JavaScript: anything else thrown from here would end the process.
    try {
      return drainColumns(info);
    } catch (const std::bad_alloc&) {
      throw Napi::Error::New(info.Env(), "out of memory writing the finished flows");
    }
  }

  Napi::Value drainColumns(const Napi::CallbackInfo& info) {
    Napi::Env env = info.Env();
    size_t count = 0;
    const np_flow_record* records = np_track_finished(tracker_, &count);
    if (info.Length() > 0 && info[0].IsNumber()) count = std::min(count, size_t(info[0].ToNumber().Uint32Value()));
    PlainColumns c(count);
    Napi::Int32Array flow_no = Napi::Int32Array::New(env, count);
    for (size_t i = 0; i < count; i++) {
      const np_flow_record& r = records[i];
      char texts[NP_FLOW_TEXT_MAX];
      int32_t lengths[NP_FLOW_TEXTS];
      np_flow_text(&r, uid_seed_, texts, lengths);
      const char* text = texts;
      auto next_text = [&](PlainColumn& column, int32_t length) {
        if (length >= 0) column.text(i, text, size_t(length)), text += length;
      };
      flow_no[i] = r.no;
      next_text(c.uid, lengths[NP_UID]);
      c.flow_no.number(i, r.no);
      c.start_t.number(i, r.start);
      c.end_t.number(i, r.last);
      next_text(c.orig_h, lengths[NP_ORIG_ADDR]);
      c.orig_p.number(i, r.orig_port);
      next_text(c.resp_h, lengths[NP_RESP_ADDR]);
      c.resp_p.number(i, r.resp_port);
      next_text(c.proto, lengths[NP_PROTO]);
      // Zeek leaves duration and the payload sizes unset for a connection of one instant.
      if (r.duration_ns > 0) {
        c.duration.number(i, double(r.duration_ns) / 1e9);
        c.orig_bytes.number(i, r.orig_bytes);
        c.resp_bytes.number(i, r.resp_bytes);
      }
      c.conn_state.text(i, r.conn_state, std::strlen(r.conn_state));
      c.missed_bytes.number(i, r.missed_bytes);
      if (r.history_len > 0) c.history.text(i, r.history, r.history_len);
      c.orig_pkts.number(i, r.orig_pkts);
      c.orig_ip_bytes.number(i, r.orig_ip_bytes);
      c.resp_pkts.number(i, r.resp_pkts);
      c.resp_ip_bytes.number(i, r.resp_ip_bytes);
      c.ip_proto.number(i, r.protocol);
      next_text(c.community_id, lengths[NP_COMMUNITY_ID]);
      next_text(c.orig_l2_addr, lengths[NP_ORIG_L2]);
      next_text(c.resp_l2_addr, lengths[NP_RESP_L2]);
    }
    np_track_clear_finished(tracker_, count);
    hit_.Value()[9] = static_cast<int32_t>(finishedCount());
    Napi::Object out = Napi::Object::New(env);
    out.Set("count", double(count));
    out.Set("flowNo", flow_no);
    Napi::Object columns = Napi::Object::New(env);
    for (auto& [name, column] : c.named()) columns.Set(name, column->toJs(env));
    out.Set("columns", columns);
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
