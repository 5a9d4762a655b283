#include "core/customers.h"

#include "core/validation.h"
#include "util/crypto.h"
#include "util/status_macros.h"

namespace libchat::internal {

namespace {

Status ValidateInput(const CustomerInput& input) {
  if (!input.external_id.empty()) LIBCHAT_RETURN_IF_ERROR(ValidateText("customer.external_id", input.external_id, 1, 255));
  LIBCHAT_RETURN_IF_ERROR(ValidateText("customer.name", input.name, 0, 200));
  if (!input.email.empty()) {
    auto email = NormalizeEmail(input.email);
    if (!email.ok()) return InvalidArgumentError("customer.email is not a valid address");
  }
  return Status::Ok();
}

}  // namespace

Status VerifyCustomerIdentity(const StoredApp& app, const CustomerInput& input) {
  if (!app.app.identity_verification || input.external_id.empty()) return Status::Ok();
  const std::string expected = HexEncode(HmacSha256(app.identity_secret, input.external_id));
  if (input.user_hash.empty() || !ConstantTimeEquals(expected, input.user_hash)) {
    return UnauthenticatedError("user_hash does not verify this external_id");
  }
  return Status::Ok();
}

Result<Customer> FindOrCreateCustomer(Store& store, Timestamp now, const AppId& app, const CustomerInput& input) {
  LIBCHAT_RETURN_IF_ERROR(ValidateInput(input));
  std::string email;
  if (!input.email.empty()) email = *NormalizeEmail(input.email);

  for (int attempt = 0; attempt < 2; ++attempt) {
    if (!input.external_id.empty()) {
      auto existing = store.FindCustomerByExternalId(app, input.external_id);
      if (existing.ok()) {
        Customer customer = std::move(existing).value();
        const bool changed = (!input.name.empty() && input.name != customer.name) ||
                             (!email.empty() && email != customer.email);
        if (changed) {
          if (!input.name.empty()) customer.name = input.name;
          if (!email.empty()) customer.email = email;
          customer.updated_at = now;
          LIBCHAT_RETURN_IF_ERROR(store.UpdateCustomer(customer));
        }
        return customer;
      }
      if (existing.status().code() != StatusCode::kNotFound) return existing.status();
    }
    Customer customer;
    customer.id = CustomerId(NewId(CustomerId::prefix()));
    customer.app_id = app;
    customer.external_id = input.external_id;
    customer.name = input.name;
    customer.email = email;
    customer.created_at = customer.updated_at = now;
    Status created = store.CreateCustomer(customer);
    if (created.ok()) return customer;
    // Lost a race with a concurrent creation of the same external id: read the winner.
    if (created.code() != StatusCode::kAlreadyExists || input.external_id.empty()) return created;
  }
  return AbortedError("customer was created concurrently; retry");
}

}  // namespace libchat::internal
