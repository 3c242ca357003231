// The typed arrays of a columns(...) call, taken one by one in their order (pcap-decoder.ts's
// columnsInOrder, conn-tracker.ts's trackColumnsInOrder): each checked for its type and bound to
// the column pointer it fills or is read through. Shared by the decoder and the tracker.
#ifndef NETPROV_COLUMN_ARRAYS_H
#define NETPROV_COLUMN_ARRAYS_H

#include <napi.h>

#include <cstdint>
#include <string>

namespace netprov {

class ColumnArrays {
 public:
  // `role`: what the addon does with the columns, for its messages ("the decoder writes").
  ColumnArrays(Napi::Env env, Napi::Array arrays, const char* role) : env_(env), arrays_(arrays), role_(role) {}

  template <typename T>
  void take(T** into, napi_typedarray_type type) {
    Napi::Value value = arrays_.Get(next_++);
    if (!value.IsTypedArray() || value.As<Napi::TypedArray>().TypedArrayType() != type) {
      throw Napi::TypeError::New(env_, "column " + std::to_string(next_ - 1) + " is not the typed array " + role_);
    }
    Napi::TypedArray array = value.As<Napi::TypedArray>();
    *into = reinterpret_cast<T*>(static_cast<uint8_t*>(array.ArrayBuffer().Data()) + array.ByteOffset());
    if (array.ElementLength() < capacity_) capacity_ = static_cast<uint32_t>(array.ElementLength());
  }

  // After the last take: every array given was taken. Returns the rows all of them hold.
  uint32_t capacity() const {
    if (next_ != arrays_.Length()) throw Napi::TypeError::New(env_, "columns(): " + std::to_string(arrays_.Length()) + " arrays, " + role_ + " " + std::to_string(next_));
    return capacity_;
  }

 private:
  Napi::Env env_;
  Napi::Array arrays_;
  std::string role_;
  uint32_t next_ = 0;
  uint32_t capacity_ = UINT32_MAX;
};

}  // namespace netprov

#endif
