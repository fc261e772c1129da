#include "features/slot_resolution.h"

#include "fmt/format.h"

namespace strata::features {
namespace {

const Column* FindColumn(const std::vector<Column>& columns, std::string_view name) {
  for (const Column& column : columns) {
    if (column.name == name) return &column;
  }
  return nullptr;
}

absl::Status NoColumn(std::string_view source, std::string_view what, std::string_view owner,
                      std::string_view column) {
  return absl::InvalidArgumentError(
      fmt::format("unknown source '{}': {} '{}' has no column '{}'", source, what, owner, column));
}

}  // namespace

absl::StatusOr<Slot> ResolveSource(const FeatureDefinition& definition, std::string_view source) {
  const size_t dot = source.find('.');
  if (dot == std::string_view::npos || dot == 0 || dot + 1 == source.size()) {
    return absl::InvalidArgumentError(fmt::format(
        "unknown source '{}': expected table.column, request.field or entity.key", source));
  }
  const std::string_view owner = source.substr(0, dot);
  const std::string_view name = source.substr(dot + 1);
  Slot slot;
  slot.owner = std::string(owner);
  slot.column = std::string(name);
  if (owner == kRequestOwner) {
    for (const RequestField& field : definition.request) {
      if (field.name != name) continue;
      slot.source = Slot::Source::kRequest;
      slot.type = field.type;
      return slot;
    }
    return absl::InvalidArgumentError(
        fmt::format("unknown source '{}': no request field '{}'", source, name));
  }
  if (const Entity* entity = definition.FindEntity(owner)) {
    const Column* column = FindColumn(entity->keys, name);
    if (column == nullptr) return NoColumn(source, "entity", owner, name);
    slot.source = Slot::Source::kKey;
    slot.type = column->type;
    return slot;
  }
  if (const FeatureTable* table = definition.FindTable(owner)) {
    const Column* column = FindColumn(table->columns, name);
    if (column == nullptr) return NoColumn(source, "table", owner, name);
    slot.source = Slot::Source::kTable;
    slot.type = column->type;
    return slot;
  }
  return absl::InvalidArgumentError(
      fmt::format("unknown source '{}': no request field, entity or table '{}'", source, owner));
}

}  // namespace strata::features
