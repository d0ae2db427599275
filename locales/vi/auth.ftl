# Xác thực hai bước, tài khoản, thiết lập quản trị viên đầu tiên, truy cập khẩn cấp
error-mfa_already_enrolled = Tài khoản này đã thiết lập xác thực hai bước. Quản trị viên có thể đặt lại.
error-mfa_not_started = Hãy bắt đầu thiết lập xác thực hai bước trước.
field-invalid_totp = Mã không đúng hoặc đã hết hạn. Hãy nhập mã ứng dụng đang hiển thị.
error-username_taken = Tên đăng nhập đã được dùng.
field-invalid_role = Vai trò không tồn tại.
error-own_account = Bạn không thể thực hiện thao tác này với chính tài khoản của mình.
error-last_admin = Đây là tài khoản quản trị viên cuối cùng đang hoạt động.
error-setup_token_invalid = Đường dẫn thiết lập không hợp lệ: đã hết hạn, đã được dùng, hoặc đã có quản trị viên.
field-reason_too_short = Hãy ghi lý do dài ít nhất 20 ký tự.

# Chống dò mật khẩu và đổi mật khẩu của chính mình
error-busy = Máy chủ đang bận kiểm tra các lần đăng nhập khác. Hãy thử lại sau giây lát.
error-password_change_required = Hãy đặt mật khẩu của riêng bạn trước: mật khẩu được cấp chỉ dùng được một lần.
field-wrong_password = Đây không phải mật khẩu hiện tại của bạn.
field-password_unchanged = Hãy chọn mật khẩu khác với mật khẩu hiện tại.
password-change-title = Đổi mật khẩu
password-change-required = Mật khẩu được cấp chỉ dùng để đặt mật khẩu của riêng bạn. Hãy đặt ngay; bạn chưa thể làm việc khác cho đến khi đổi xong.
password-current = Mật khẩu hiện tại
password-new = Mật khẩu mới
password-change-submit = Đổi mật khẩu
password-change-link = Đổi mật khẩu
