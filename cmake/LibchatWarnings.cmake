# libchat_set_warnings(<target>): the project's warning set, as errors when
# LIBCHAT_WARNINGS_AS_ERRORS is on (CI turns it on).
function(libchat_set_warnings target)
  if(CMAKE_CXX_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow -Wnon-virtual-dtor
                                             -Wold-style-cast -Wcast-align -Woverloaded-virtual)
    if(LIBCHAT_WARNINGS_AS_ERRORS)
      target_compile_options(${target} PRIVATE -Werror)
    endif()
  elseif(MSVC)
    target_compile_options(${target} PRIVATE /W4 $<$<BOOL:${LIBCHAT_WARNINGS_AS_ERRORS}>:/WX>)
  endif()
endfunction()
