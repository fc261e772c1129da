// Shape is a tensor's dimensions, outermost first; -1 marks a variable
// dimension in a declared signature (never in a concrete tensor).
#ifndef STRATA_CORE_SHAPE_H_
#define STRATA_CORE_SHAPE_H_

#include <cstdint>
#include <optional>
#include <string>
#include <vector>

namespace strata::core {

using Shape = std::vector<int64_t>;

// Number of elements of a concrete shape; nullopt when a dimension is
// negative or the product overflows int64.
std::optional<int64_t> ElementCount(const Shape& shape);

// True when `concrete` fits `declared` (same rank, equal dims, -1 matches any).
bool ShapeMatches(const Shape& declared, const Shape& concrete);

// "[-1,30]"
std::string ShapeToString(const Shape& shape);

}  // namespace strata::core

#endif  // STRATA_CORE_SHAPE_H_
