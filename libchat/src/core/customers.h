// Finding and creating customers from what an SDK or an app server says about them.
#pragma once

#include "libchat/chat.h"

namespace libchat::internal {

// Validates `input`; returns the app's customer with input.external_id (updating a
// changed name or email), or creates one (anonymous when external_id is empty).
// Safe against concurrent creation of the same external id.
Result<Customer> FindOrCreateCustomer(Store& store, Timestamp now, const AppId& app, const CustomerInput& input);

// When the app requires identity verification, an identified customer must carry
// user_hash = hex(HMAC-SHA256(identity secret, external_id)).
Status VerifyCustomerIdentity(const StoredApp& app, const CustomerInput& input);

}  // namespace libchat::internal
