/** JSON bodies of the account endpoints, exactly as the original backend answers them. */

interface UserLike {
  id: number;
  email: string;
}

export const presentRegistration = (user: UserLike, token: string) => ({
  user: { id: user.id, email: user.email },
  token,
});

export const presentActivation = () => ({ message: 'Account successfully activated.' });

/** The original names the email `username` here. */
export const presentLogin = (user: UserLike) => ({
  detail: 'Login successful',
  user: { id: user.id, username: user.email },
});

export const presentLogout = () => ({
  detail: 'Logout successful! All tokens will be deleted. Refresh token is now invalid.',
});

export const presentRefresh = (access: string) => ({ detail: 'Token refreshed', access });

export const presentPasswordResetRequested = () => ({
  detail: 'An email has been sent to reset your password.',
});

export const presentPasswordResetDone = () => ({ detail: 'Your Password has been successfully reset.' });

/** Addition: POST /api/password_change/. */
export const presentPasswordChanged = () => ({
  detail: 'Your password has been changed. Other devices were signed out.',
});

/** Addition: GET /api/me/. */
export const presentMe = (user: UserLike & { isStaff: boolean }) => ({
  id: user.id,
  email: user.email,
  is_staff: user.isStaff,
});
